#!/usr/bin/env python3
"""Regenerate the committed seed corpora in tests/fuzz/seeds/ (not run by the build).

Seeds are small valid inputs the fuzzers start from; every one must pass its
driver (make fuzz-check replays them).  Where a real producer exists it is used:

  fcgi:      FastCGI connections captured from nginx (the repo's fastcgi_params,
             three requests made with curl) on a unix socket;
  eth_*:     ABI encodings, calldata and signed transactions from foundry's cast
             (node_modules/.bin/cast), with anvil's first default key;
  code_*:    examples/ and the canonical encoding written as code.h specifies;
  conf:      conf/executor.conf, and the same with every key set;
  the rest:  written here from the protocol documents.

Usage: python3 tests/fuzz/gen-seeds.py   (from anywhere; needs nginx, curl, cast)
"""
import base64
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = os.path.join(ROOT, "tests", "fuzz", "seeds")
CAST = os.path.join(ROOT, "node_modules", ".bin", "cast")
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR1 = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
ADDR2 = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
CODE_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
JS = b"export default { async fetch(req) { return Response.json(await req.json()); } };\n"


def put(driver, name, data):
    d = os.path.join(SEEDS, driver)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cast(*args):
    out = subprocess.run([CAST, *args], check=True, capture_output=True, text=True).stdout.strip()
    return bytes.fromhex(out[2:] if out.startswith("0x") else out)


# ---- FastCGI ---------------------------------------------------------------

def record(rtype, rid, content, pad=None):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return ln(len(name)) + ln(len(value)) + name + value


def records(data):
    i = 0
    while i + 8 <= len(data):
        _, t, rid, cl, pl, _ = struct.unpack(">BBHHBB", data[i:i + 8])
        yield t, rid, data[i + 8:i + 8 + cl]
        i += 8 + cl + pl


def capture_nginx():
    """Three real connections as nginx sends them (POST JSON, GET, POST JS with a long header)."""
    tmp = tempfile.mkdtemp(prefix="oyster-fuzz-seeds-")
    os.chmod(tmp, 0o755)  # nginx workers run as another user
    sock = os.path.join(tmp, "cap.sock")
    conns = []
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock)
    os.chmod(sock, 0o777)
    srv.listen(4)

    def serve():
        for _ in range(3):
            c, _ = srv.accept()
            data = b""
            while not any(t == 5 and not body for t, _, body in records(data)):
                b = c.recv(65536)
                if not b:
                    break
                data += b
            conns.append(data)
            rid = data[2:4]
            body = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nok"
            c.sendall(b"\x01\x06" + rid + struct.pack(">H", len(body)) + b"\0\0" + body +
                      b"\x01\x06" + rid + b"\0\0\0\0" + b"\x01\x03" + rid + b"\0\x08\0\0" + b"\0" * 8)
            c.close()

    th = threading.Thread(target=serve)
    th.start()
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{}}
http {{ access_log off; client_body_temp_path {tmp}/body;
  server {{ listen 127.0.0.1:18999; server_name executor.example;
    location / {{ set $oyster_request_id $request_id;
      include {ROOT}/nginx/fastcgi_params; fastcgi_pass unix:{sock}; }} }} }}
""")
    ngx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp])
    time.sleep(0.7)
    try:
        url = "http://127.0.0.1:18999"
        subprocess.run(["curl", "-s", "-X", "POST", "-H", "Content-Type: application/json", "--data",
                        '{"code_id":"0x4f2a8c1be0d0c3a9a7e1e9f59bd7fd7a0c6c8e5fa2f4a1e0b5b5d1c6a9e3f210",'
                        '"input":{"a":2,"b":40}}', url + "/api/serverless"], check=True)
        subprocess.run(["curl", "-s", url + "/api/jobs?limit=10"], check=True)
        subprocess.run(["curl", "-s", "-X", "POST", "-H", "Content-Type: application/javascript",
                        "-H", "Cookie: session=" + "c" * 150, "--data-binary",
                        "@" + os.path.join(ROOT, "examples", "factors.js"), url + "/api/code"], check=True)
        th.join(10)
    finally:
        ngx.terminate()
        ngx.wait()
        shutil.rmtree(tmp)
    return conns


def gen_fcgi():
    names = ["post-serverless", "get-jobs", "post-code-long-cookie"]
    for name, conn in zip(names, capture_nginx()):
        put("fuzz_fcgi_request", "nginx-" + name, conn)
        put("fuzz_fcgi_params", "nginx-" + name,
            b"".join(body for t, _, body in records(conn) if t == 4))
    # Synthetic: management records first, the PARAMS stream split inside a
    # pair, odd padding, the body in two STDIN records.
    params = nv(b"REQUEST_METHOD", b"POST") + nv(b"REQUEST_URI", b"/api/serverless") + \
        nv(b"CONTENT_LENGTH", b"11") + nv(b"HTTP_X_LONG", b"v" * 200)
    conn = record(9, 0, nv(b"FCGI_MAX_CONNS", b"") + nv(b"FCGI_MPXS_CONNS", b"")) + \
        record(1, 1, b"\0\x01\x01\0\0\0\0\0") + \
        record(4, 1, params[:20], 3) + record(4, 1, params[20:], 0) + record(4, 1, b"") + \
        record(8, 1, b"ignored") + \
        record(5, 1, b'{"a":') + record(5, 1, b"1}\n\n\n\n\n\n") + record(5, 1, b"")
    put("fuzz_fcgi_request", "split-params-get-values", conn)
    # A second BEGIN_REQUEST (refused, CANT_MPX_CONN) whose records are dropped.
    conn = record(1, 1, b"\0\x01\0\0\0\0\0\0") + record(1, 2, b"\0\x01\0\0\0\0\0\0") + \
        record(4, 2, nv(b"A", b"B")) + record(4, 1, nv(b"REQUEST_METHOD", b"GET")) + \
        record(4, 1, b"") + record(5, 2, b"x") + record(5, 1, b"")
    put("fuzz_fcgi_request", "second-request-refused", conn)


# ---- JSON bodies -------------------------------------------------------------

def gen_json():
    cid = "0x" + "4f2a8c1be0d0c3a9a7e1e9f59bd7fd7a0c6c8e5fa2f4a1e0b5b5d1c6a9e3f210"
    put("fuzz_serverless_json", "code-id-object", '{"code_id":"%s","input":{"a":2,"b":40}}' % cid)
    put("fuzz_serverless_json", "tx-hash-array",
        '{"tx_hash":"0x6cd803046b4bed6e5b096ab4d292440d9ca2e7187a12195222d9681122dcd367",'
        '"input":[1,-2.5e3,"x\\u00e9",true,null,{"k":[]}]}')
    put("fuzz_serverless_json", "code-id-only", '{"code_id":"%s"}' % cid[2:])
    # What json_scan must get right: keys and ids written with escapes, every
    # escape and raw UTF-8 in the input, values jansson refused for its own
    # limits (big integers, 1e400, nested duplicates), whitespace around the
    # input slice, and a scalar input.
    put("fuzz_serverless_json", "escaped-keys-and-id",
        '{"code\\u005fid":"0x\\u0034%s","\\u0069nput":'
        '{"s":"\\ud83d\\ude00 \\"q\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u0000",'
        '"raw":"\u00e9\u20ac\U0001f600\u007f"}}' % cid[3:])
    put("fuzz_serverless_json", "input-big-numbers-duplicates",
        '{"input":{"n":123456789012345678901234567890,"n":-0.5e-7,"r":1e400,'
        '"a":[0,-0,1E+2,-18446744073709551617]},"code_id":"%s"}' % cid)
    put("fuzz_serverless_json", "input-whitespace-nested",
        ' \r\n{ "tx_hash" : "0x%s" ,\n\t"input" :\t[ [ ] , { } , [ { "k" : [ null ] } ] ] \n}\n'
        % ("ab" * 32))
    put("fuzz_serverless_json", "input-string", '{"code_id":"%s","input":"text"}' % cid)

    put("fuzz_eth_rpc_reply", "quantity", '{"jsonrpc":"2.0","id":1,"result":"0x7a69"}')
    put("fuzz_eth_rpc_reply", "error-data",
        '{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted",'
        '"data":"0x08c379a0"}}')
    put("fuzz_eth_rpc_reply", "transaction",
        '{"jsonrpc":"2.0","id":1,"result":{"blockHash":"0x' + "ab" * 32 + '","blockNumber":"0x1b4",'
        '"from":"' + ADDR1 + '","gas":"0x30d40","hash":"0x' + "cd" * 32 + '","input":"0xff7cdaf3",'
        '"nonce":"0x7","to":"' + CODE_CONTRACT.lower() + '","transactionIndex":"0x0","value":"0x0",'
        '"type":"0x2","chainId":"0x7a69","v":"0x1","r":"0x1","s":"0x2"}}')
    put("fuzz_eth_rpc_reply", "logs",
        '{"jsonrpc":"2.0","id":1,"result":[{"address":"' + ADDR2 + '","topics":["0x' + "11" * 32 +
        '","0x' + "00" * 31 + '01"],"data":"0x' + "00" * 32 + '","blockNumber":"0x10",'
        '"blockHash":"0x' + "22" * 32 + '","transactionHash":"0x' + "33" * 32 + '",'
        '"transactionIndex":"0x0","logIndex":"0x3","removed":false}]}')
    put("fuzz_eth_rpc_reply", "null-result", '{"id":1,"jsonrpc":"2.0","result":null}')


# ---- code --------------------------------------------------------------------

TYPES = {"esModule": 0, "wasm": 1, "text": 2, "data": 3, "json": 4}


def canonical(main, mods):
    out = b"OYSTERCODE1\n" + struct.pack(">I", len(main)) + main.encode() + struct.pack(">I", len(mods))
    for name, typ, content in sorted(mods, key=lambda m: m[0].encode()):
        out += bytes([TYPES[typ]]) + struct.pack(">I", len(name)) + name.encode()
        out += struct.pack(">Q", len(content)) + content
    return out


def gen_code():
    ex = os.path.join(ROOT, "examples")
    wasm_main = open(os.path.join(ex, "wasm-main.js"), "rb").read()
    wasm = open(os.path.join(ex, "add.wasm"), "rb").read()
    factors = open(os.path.join(ex, "factors.js"), "rb").read()
    put("fuzz_code_js", "factors.js", factors)
    put("fuzz_code_js", "wasm-main.js", wasm_main)
    put("fuzz_code_js", "utf8.js", "export default { fetch() { return new Response('h\u00e9 \u2603 \U0001f600'); } };\n")

    put("fuzz_code_bundle", "wasm-bundle.json", open(os.path.join(ex, "wasm-bundle.json"), "rb").read())
    put("fuzz_code_bundle", "all-types.json",
        '{"main":"src/index.js","modules":['
        '{"name":"src/index.js","type":"esModule","content":"import t from \'./msg.txt\';export default{fetch(){return new Response(t)}}"},'
        '{"name":"src/msg.txt","type":"text","content_base64":"aGk="},'
        '{"name":"blob.bin","type":"data","content_base64":"AAEC/w=="},'
        '{"name":"cfg.json","type":"json","content":"{\\"k\\":1}"},'
        '{"name":"add.wasm","type":"wasm","content_base64":"%s"}]}' % base64.b64encode(wasm).decode())

    put("fuzz_code_decode", "wasm-bundle", canonical("wasm-main.js", [
        ("wasm-main.js", "esModule", wasm_main), ("add.wasm", "wasm", wasm)]))
    put("fuzz_code_decode", "main-js", canonical("main.js", [("main.js", "esModule", JS)]))
    put("fuzz_code_decode", "all-types", canonical("src/index.js", [
        ("src/index.js", "esModule", b"export default{fetch(){return new Response('x')}}"),
        ("src/msg.txt", "text", b"hi"), ("blob.bin", "data", b"\0\1\2\xff"),
        ("cfg.json", "json", b'{"k":1}'), ("add.wasm", "wasm", wasm)]))


# ---- Ethereum ------------------------------------------------------------------

def gen_eth():
    # fuzz_eth_abi: first byte picks the type (see the driver), the rest is data.
    put("fuzz_eth_abi", "0-job-created", b"\0" + cast(
        "abi-encode", "f(bytes32,bytes,uint256,address[])", "0x" + "4f" * 32,
        "0x" + b'{"a":2,"b":40}'.hex(), "1700000000", "[%s,%s]" % (ADDR1, ADDR2)))
    put("fuzz_eth_abi", "1-job-responded", b"\1" + cast(
        "abi-encode", "f(bytes,uint256,uint8,uint8)", "0x" + b'{"sum":42}'.hex(), "1234", "0", "2"))
    put("fuzz_eth_abi", "2-string-bytes", b"\2" + cast(
        "abi-encode", "f(string,bytes)", JS.decode(), "0x00010203"))
    put("fuzz_eth_abi", "3-uint-uint8", b"\3" + cast("abi-encode", "f(uint256,uint8)", "99", "1"))
    put("fuzz_eth_abi", "4-mixed", b"\4" + cast(
        "abi-encode", "f(int64,bool,bytes4,(uint8,bytes)[],string[2])", "-5", "true", "0xdeadbeef",
        "[(1,0x01),(2,0x)]", "[a,bc]"))
    put("fuzz_eth_abi", "5-save-code-string-bytes", b"\5" + cast(
        "calldata", "saveCodeInCallData(string,bytes)", JS.decode(), "0x")[4:])
    put("fuzz_eth_abi", "6-save-code-string", b"\6" + cast(
        "calldata", "saveCodeInCallData(string)", JS.decode())[4:])
    put("fuzz_eth_abi", "7-submit-output", b"\7" + cast(
        "calldata", "submitOutput(bytes,uint256,bytes,uint256,uint8,uint256)", "0x" + "55" * 65,
        "17", "0x" + b'{"sum":42}'.hex(), "120", "0", "1700000000")[4:])
    put("fuzz_eth_abi", "raw-save-code-string", b"\x86" + cast(
        "calldata", "saveCodeInCallData(string)", "x"))

    put("fuzz_txcode_calldata", "save-code-string", cast("calldata", "saveCodeInCallData(string)", JS.decode()))
    put("fuzz_txcode_calldata", "save-code-string-bytes",
        cast("calldata", "saveCodeInCallData(string,bytes)", JS.decode(), "0x0102"))

    common = ["--private-key", KEY, "--chain", "31337", "--gas-price", "10gwei", "--priority-gas-price", "1gwei"]
    transfer = cast("mktx", *common, "--nonce", "0", "--gas-limit", "21000", "--value", "1ether", ADDR1)
    create = cast("mktx", *common, "--nonce", "1", "--gas-limit", "100000", "--create",
                  "0x600a600c600039600a6000f3602a60005260206000f3")
    save = cast("mktx", *common, "--nonce", "7", "--gas-limit", "200000", CODE_CONTRACT,
                "saveCodeInCallData(string)", JS.decode())
    for name, tx in (("transfer", transfer), ("create", create), ("save-code", save)):
        put("fuzz_eth_tx", name, tx)
        put("fuzz_eth_rlp", "tx-" + name, tx[1:])
    put("fuzz_eth_rlp", "nested", bytes.fromhex("c7c0c1c0c3c0c1c0"))  # the set-theoretic three
    put("fuzz_eth_rlp", "long-string", b"\xb8\x38" + b"L" * 56)
    put("fuzz_eth_rlp", "integers", bytes.fromhex("cc8083010000820400017f8180"))


# ---- the rest --------------------------------------------------------------------

def gen_misc():
    sample = open(os.path.join(ROOT, "conf", "executor.conf")).read()
    put("fuzz_conf", "executor.conf", sample)
    # every key set to its default, without the documentation lines
    lines = [l[1:] for l in sample.splitlines() if l.startswith("#") and " = " in l and not l.startswith("# ")]
    put("fuzz_conf", "all-keys-set.conf", "\n".join(lines) + "\n")
    put("fuzz_conf", "small.conf",
        "# integration test node\ninstance = it-1234\nrun_dir = /tmp/oyster/run\nslots = 2\n"
        "memory_limit = 256M\ncgroups = off\t\r\nrpc_url = http://127.0.0.1:8545\n"
        "jobs_contract = 0x5FbDB2315678afecb367f032d93F642f64180aa3\n")

    # fuzz_sb_http_response: split (u16 LE), max_body byte (255 = 1 MiB), response.
    def http(split, max_body, resp):
        return struct.pack("<HB", split, max_body) + resp
    put("fuzz_sb_http_response", "content-length", http(40, 255,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
        b"X-Oyster: 1\r\n\r\n{\"sum\":42}"))
    put("fuzz_sb_http_response", "chunked", http(70, 255,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1A\r\n, world of chunked bodies.\r\n0\r\nX-Trailer: t\r\n\r\n"))
    put("fuzz_sb_http_response", "no-content", http(5, 1,
        b"HTTP/1.1 204 No Content\r\nServer: workerd\r\n\r\n"))
    put("fuzz_sb_http_response", "close-delimited", http(0, 2,
        b"HTTP/1.0 500 Internal Server Error\r\nConnection: close\r\n\r\nuncaught exception"))

    tx_hash = bytes.fromhex("6cd803046b4bed6e5b096ab4d292440d9ca2e7187a12195222d9681122dcd367")
    label = base64.b32encode(tx_hash).decode().rstrip("=").lower()
    put("fuzz_base32", "tx-hash-label", label)
    put("fuzz_base32", "mixed-case", label[:26].upper() + label[26:])
    put("fuzz_base32", "short", "mzxw6ytb")


def main():
    gen_fcgi()
    gen_json()
    gen_code()
    gen_eth()
    gen_misc()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(SEEDS) for f in fs)
    print("seeds written to %s (%d bytes)" % (SEEDS, total))


if __name__ == "__main__":
    sys.exit(main())
