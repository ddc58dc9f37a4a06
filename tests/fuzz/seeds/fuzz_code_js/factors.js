// Prime factors of input.num: the Oyster seed example.
// POST {"num": 10} -> {"num":10,"factors":[2,5]}
export default {
  async fetch(request) {
    let body;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: "expected a JSON body like {\"num\": 10}" }, { status: 400 });
    }
    const num = body && body.num;
    if (!Number.isSafeInteger(num) || num < 2) {
      return Response.json({ error: "num must be an integer >= 2" }, { status: 400 });
    }
    const factors = [];
    let n = num;
    for (let d = 2; d * d <= n; d++) {
      while (n % d === 0) {
        factors.push(d);
        n /= d;
      }
    }
    if (n > 1) factors.push(n);
    return Response.json({ num, factors });
  },
};
