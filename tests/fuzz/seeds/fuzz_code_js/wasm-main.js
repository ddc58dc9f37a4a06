// JS entry of the WASM example: adds input.a and input.b in WebAssembly.
// POST {"a": 2, "b": 40} -> {"sum":42}
import addModule from "./add.wasm";

const { add } = new WebAssembly.Instance(addModule).exports;

export default {
  async fetch(request) {
    const { a, b } = await request.json();
    return Response.json({ sum: add(a, b) });
  },
};
