// Bench workload: echo a JSON body (the bench sends about 1 MB).
export default {
  async fetch(request) {
    return Response.json(await request.json());
  },
};
