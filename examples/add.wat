;; add.wasm: the WebAssembly half of examples/wasm-bundle.json
;; (checked-in binary; assemble with `wat2wasm add.wat` from Debian's wabt).
(module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add))
