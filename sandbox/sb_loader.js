// The loader worker of pool mode (see sandbox/sb_pool.c): runs each
// request's code in a new V8 isolate through workerd's workerLoader binding.
//
// Its only client is the slot owner (our C code), over a unix socket in the
// slot directory; user code never gets a way to reach it: loaded workers
// get an empty env, no bindings and globalOutbound null (no fetch(), no
// connect()), so they cannot call back into this worker or the network.
// This worker itself has only LOADER and the compatibility date, and its
// own globalOutbound is a network service that allows nothing.
//
// Request (built by sb_loader.c), one of:
//   POST <the user's path> with the user's headers, plus
//     x-oyster-pool-method: the user's method
//     x-oyster-pool-code-length: N; the first N body bytes are the code in
//       its canonical encoding (common/code.h), the rest is the user's body
//     x-oyster-pool-isolate: KEY (optional): run in the isolate kept under
//       KEY instead of a new one (the code id of a code that opted in)
//   or, for a KEY whose code this workerd was already given, the user's
//   request itself (method, path, headers, body) plus
//     x-oyster-pool-isolate: KEY
//   which costs no copy of the body (it is streamed through),
//   or a prepared isolate (the slot owner's guess at its next request):
//   POST / with x-oyster-pool-prepare: 1, x-oyster-pool-code-length: N and
//     a chunked body whose first N bytes are the code; the isolate is
//     made and started (modules evaluated) as soon as they are in.  The
//     rest of the body, sent when the slot's next request comes, is that
//     request as HTTP/1.1 text (request line, headers, blank line, body);
//     no rest (the body ends, or the connection closes) drops the isolate.
// Response: the worker's own response, untouched (status, headers, body
// streamed through), or this worker's own 500 whose body is the message
// and which carries
//   x-oyster-pool-outcome: TOKEN KIND
// TOKEN is the slot's secret (binding TOKEN), which user code cannot read,
// so a worker cannot forge an outcome; KIND is
//   load       the code did not load (SyntaxError, bad module, no handler)
//   exception  the worker's handler threw (or its promise rejected)
//   nocode     a request without code for a KEY this workerd has no code
//              for: the slot owner sends it again with the code
//   error      anything else (this worker's own trouble): the slot owner
//              recycles the whole workerd.
// The slot owner strips the outcome header from every answer.

const CTL = "x-oyster-pool-";
const utf8 = new TextDecoder("utf-8", { fatal: true });
const TYPES = ["js", "wasm", "text", "data", "json"]; // enum code_module_type order

// The canonical encoding: "OYSTERCODE1\n", u32 main name length, main name,
// u32 module count, then per module: u8 type, u32 name length, name, u64
// content length, content (all big-endian).
function decodeCode(buf) {
  const dv = new DataView(buf);
  let p = 12;
  const u32 = () => { const v = dv.getUint32(p); p += 4; return v; };
  const take = (n) => { if (p + n > buf.byteLength) throw new Error("truncated code"); const b = buf.slice(p, p + n); p += n; return b; };
  if (buf.byteLength < 12 || utf8.decode(buf.slice(0, 12)) !== "OYSTERCODE1\n") throw new Error("bad magic");
  const main = utf8.decode(take(u32()));
  const count = u32();
  const modules = {};
  for (let i = 0; i < count; i++) {
    const type = TYPES[dv.getUint8(p)];
    p += 1;
    const name = utf8.decode(take(u32()));
    const hi = u32(), lo = u32();
    const data = take(hi * 4294967296 + lo);
    if (type === "wasm" || type === "data") modules[name] = { [type]: data };
    else if (type === "json") modules[name] = { json: utf8.decode(data) };
    else if (type) modules[name] = { [type]: utf8.decode(data) };
    else throw new Error("unknown module type");
  }
  return { main, modules };
}

let token = "";
function outcome(kind, message) {
  return new Response(message, { status: 500, headers: { [CTL + "outcome"]: token + " " + kind } });
}

// JSON modules are handed over parsed; one that does not parse fails to
// load like it does in a workerd config.
function parseJsonModules(modules) {
  for (const [name, m] of Object.entries(modules)) {
    if (m.json === undefined) continue;
    try {
      m.json = JSON.parse(m.json);
    } catch (e) {
      throw new SyntaxError(`${name}: ${e.message}`);
    }
  }
}

// The code of each KEY this workerd was given, for workerd to build the
// kept isolate from whenever it needs to (it may drop an idle one).
const sources = new Map();

function isolateSource(env, code) {
  parseJsonModules(code.modules);
  return {
    compatibilityDate: env.COMPAT_DATE,
    mainModule: code.main,
    modules: code.modules,
    env: {},
    globalOutbound: null,
  };
}

// Run userRequest in the worker, mapping its failures to outcomes.
async function run(worker, userRequest) {
  let entry;
  try {
    entry = worker.getEntrypoint();
  } catch (e) {
    return outcome("load", "Uncaught " + String(e));
  }
  try {
    return await entry.fetch(userRequest);
  } catch (e) {
    const text = String(e && e.message);
    // workerd starts a loaded worker lazily: its load errors arrive here,
    // not from remote (tunnelled) exceptions of the user's handler.
    if (e && e.remote) return outcome("exception", "Uncaught " + String(e));
    if (text.startsWith("Failed to start Worker:"))
      return outcome("load", text.slice("Failed to start Worker:".length).trim());
    return outcome("error", String(e));
  }
}

// The body so far, in one array, until it holds at least `want` bytes or ends.
async function collect(reader, first, want) {
  const parts = [first];
  let n = first.byteLength;
  while (n < want) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.byteLength;
  }
  const out = new Uint8Array(n);
  let p = 0;
  for (const v of parts) {
    out.set(v, p);
    p += v.byteLength;
  }
  return out;
}

// Header bytes as workerd's own parser turns them into strings (UTF-8).
const headText = new TextDecoder("utf-8");
const CRLF2 = [13, 10, 13, 10];

// HTTP/1.1 request text as the slot owner writes it (sb_http_request_conn:
// "name: value" lines, no CR or LF inside them) -> a Request as workerd
// would have made of the same bytes.
function parseRequest(bytes) {
  let end = -1;
  for (let i = 0; i + 3 < bytes.byteLength && end < 0; i++)
    if (CRLF2.every((b, k) => bytes[i + k] === b)) end = i;
  if (end < 0) throw new Error("no end of head");
  const lines = headText.decode(bytes.subarray(0, end)).split("\r\n");
  const [method, path] = lines[0].split(" ");
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error("bad header line");
    const name = line.slice(0, colon);
    // Optional whitespace is spaces and tabs only (RFC 9110), as workerd trims.
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (name.toLowerCase() !== "content-length") headers.append(name, value);
  }
  const body = method === "GET" || method === "HEAD" ? null : bytes.slice(end + 4);
  return new Request("http://" + (headers.get("host") || "worker") + path, { method, headers, body });
}

async function prepared(request, env, codeLength) {
  const reader = request.body.getReader();
  const head = await collect(reader, new Uint8Array(0), codeLength);
  if (!(codeLength >= 0 && codeLength <= head.byteLength)) return outcome("error", "bad envelope");
  let worker, failed;
  try {
    worker = env.LOADER.load(isolateSource(env, decodeCode(head.slice(0, codeLength).buffer)));
  } catch (e) {
    failed = outcome("load", "Uncaught " + String(e));
  }
  // Start it now: asking for an entrypoint that cannot exist (its name
  // holds the secret token) makes workerd start the worker, evaluating its
  // modules, and refuse; no handler of the user's runs.  A worker that
  // fails to start fails the same way again in run().
  if (worker) {
    try {
      await worker.getEntrypoint("oyster-prepare-" + token).fetch("http://prepare/");
    } catch (e) {
      // expected
    }
  }
  const rest = await collect(reader, head.subarray(codeLength), Infinity);
  if (rest.byteLength === 0) return new Response(null, { status: 204 });
  let userRequest;
  try {
    userRequest = parseRequest(rest);
  } catch (e) {
    return outcome("error", "bad prepared request: " + e.message);
  }
  return failed || run(worker, userRequest);
}

async function handle(request, env) {
  const key = request.headers.get(CTL + "isolate");
  const lengthHeader = request.headers.get(CTL + "code-length");

  if (request.headers.get(CTL + "prepare") !== null) return prepared(request, env, Number(lengthHeader));

  // A kept isolate whose code this workerd has: the user's request as is.
  if (lengthHeader === null) {
    if (!key) return outcome("error", "bad envelope");
    if (!sources.has(key)) return outcome("nocode", "no code for this isolate");
    const headers = new Headers(request.headers);
    headers.delete(CTL + "isolate");
    return run(env.LOADER.get(key, async () => sources.get(key)), new Request(request, { headers }));
  }

  const headers = new Headers(request.headers);
  const codeLength = Number(lengthHeader);
  const method = headers.get(CTL + "method") || "POST";
  for (const name of [...headers.keys()]) if (name.startsWith(CTL)) headers.delete(name);
  headers.delete("content-length");

  const all = await request.arrayBuffer();
  if (!(codeLength >= 0 && codeLength <= all.byteLength)) return outcome("error", "bad envelope");
  let code;
  try {
    code = decodeCode(all.slice(0, codeLength));
  } catch (e) {
    return outcome("error", "bad code envelope: " + e.message);
  }
  const body = method === "GET" || method === "HEAD" ? null : all.slice(codeLength);
  const userRequest = new Request(request.url, { method, headers, body });

  let worker;
  try {
    if (key) {
      // Kept for the requests without code; an isolate that exists
      // already under KEY is used as it is.
      const src = isolateSource(env, code);
      sources.set(key, src);
      worker = env.LOADER.get(key, async () => src);
    } else {
      worker = env.LOADER.load(isolateSource(env, code));
    }
  } catch (e) {
    return outcome("load", "Uncaught " + String(e));
  }
  return run(worker, userRequest);
}

export default {
  async fetch(request, env) {
    token = env.TOKEN;
    try {
      return await handle(request, env);
    } catch (e) {
      // Our own failure (a request the Fetch API refuses, say): the slot
      // owner recycles this workerd rather than pass a bare 500 on as the
      // worker's answer.
      return outcome("error", String(e));
    }
  },
};
