// Bench workload: a fixed amount of CPU work (input {"n": 8000000} is about
// 50 ms on the bench machine), deterministic so every variant does the same.
export default {
  async fetch(request) {
    const { n } = await request.json();
    let x = 0;
    for (let i = 0; i < n; i++) x = (x * 31 + i) % 1000003;
    return Response.json({ n, x });
  },
};
