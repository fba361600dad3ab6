#!/usr/bin/env python3
"""Regenerates the fuzzers' seed corpora (fuzz/corpus/<target>/) from the test data.

Sources: the protocol goldens in tests/data/protocol/ and, when the conformance kit is found
(../shared/conformance beside the repository, or $CHATKIT_SHARED_DIR/conformance), the request bodies
of its scenarios. Files are named by content hash, so re-running is idempotent.

    python3 fuzz/make_corpus.py
"""
import hashlib
import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "protocol"
OUT = ROOT / "fuzz" / "corpus"
MAX_SEED = 4096  # bytes; seeds stay small


def write(target: str, payload: bytes) -> None:
    if len(payload) > MAX_SEED:
        return
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha1(payload).hexdigest()[:16]
    (folder / name).write_bytes(payload)


def load(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def shared_conformance():
    for base in (os.environ.get("CHATKIT_SHARED_DIR"), ROOT.parent / "shared", "/work/shared"):
        if base and (pathlib.Path(base) / "conformance" / "scenarios").is_dir():
            return pathlib.Path(base) / "conformance" / "scenarios"
    return None


def request_bodies():
    bodies = [case["body"] for case in load("requests.json")]
    scenarios = shared_conformance()
    if scenarios:
        for path in sorted(scenarios.glob("*.json")):
            for step in json.loads(path.read_text(encoding="utf-8")).get("steps", []):
                if "request" in step:
                    request = step["request"]
                    bodies.append(request if isinstance(request, str) else json.dumps(request, separators=(",", ":")))
                elif "raw_body" in step:
                    bodies.append(step["raw_body"])
    return bodies


def http_request(body: str, *, extra: str = "", version: str = "1.1", chunked: bool = False) -> bytes:
    data = body.encode("utf-8")
    head = f"POST /chatkit HTTP/{version}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-User: alice\r\n{extra}"
    if chunked:
        return (head + "Transfer-Encoding: chunked\r\n\r\n").encode() + b"%x\r\n" % len(data) + data + b"\r\n0\r\n\r\n"
    return (head + f"Content-Length: {len(data)}\r\n\r\n").encode() + data


def main() -> None:
    bodies = request_bodies()
    for body in bodies:
        write("fuzz_parse_request", body.encode("utf-8"))

    # HTTP: a spread of valid requests, plus transport variants of a streaming one.
    valid = [case["body"] for case in load("requests.json") if case.get("valid")]
    for body in valid[::3] + bodies[-40:]:
        write("fuzz_http_serve", http_request(body))
    create = '{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"hi"}],"attachments":[],"inference_options":{}}}}'
    write("fuzz_http_serve", http_request(create, chunked=True))
    write("fuzz_http_serve", http_request(create, version="1.0"))
    write("fuzz_http_serve", http_request(create, extra="X-Fuzz-Disconnect: 1\r\n"))
    write("fuzz_http_serve", http_request(create, extra="Connection: close\r\n"))
    write("fuzz_http_serve", http_request(create, extra="Expect: 100-continue\r\n"))
    write("fuzz_http_serve", http_request(create) + http_request('{"type":"threads.list","params":{}}'))
    write("fuzz_http_serve", b"GET /chatkit HTTP/1.1\r\nHost: x\r\n\r\n")
    write("fuzz_http_serve", http_request("{not json"))

    # Typed readers: selector byte + JSON (see fuzz_json_readers.cpp for the order).
    sources = {
        0: ["items.json"], 1: ["events.json"], 2: ["updates.json"], 3: ["threads.json"],
        4: ["thread_metadata.json"], 5: ["attachments.json"], 6: ["tasks.json"], 7: ["sources.json"],
        10: ["thread_pages.json"],
    }
    for selector, files in sources.items():
        for file in files:
            for case in load(file):
                for form in ("wire", "store"):
                    if form in case:
                        write("fuzz_json_readers", bytes([selector]) + case[form].encode("utf-8"))
    items = [case["store"] for case in load("items.json")]
    write("fuzz_json_readers", bytes([9]) + ('{"data":[' + ",".join(items[:3]) + '],"has_more":false}').encode())
    for case in load("requests.json"):
        if case.get("valid"):
            params = json.loads(case["body"]).get("params", {})
            if isinstance(params, dict) and isinstance(params.get("input"), dict):
                write("fuzz_json_readers", bytes([8]) + json.dumps(params["input"]).encode())

    # Widgets: pairs of roots separated by a NUL byte.
    def pair(a, b):
        return json.dumps(a).encode() + b"\0" + json.dumps(b).encode()

    def card(*children, **props):
        return {"type": "Card", "children": list(children), **props}

    def text(id_, value, streaming=None, kind="Text"):
        node = {"type": kind, "id": id_, "value": value}
        if streaming is not None:
            node["streaming"] = streaming
        return node

    write("fuzz_diff_widget", pair(card(text("t", "Hel", True)), card(text("t", "Hello", True))))
    write("fuzz_diff_widget", pair(card(text("t", "Hel", True)), card(text("t", "Hello", False))))
    write("fuzz_diff_widget", pair(card(text("a", "x"), text("b", "y", kind="Markdown")),
                                   card(text("a", "xy"), text("b", "yz", kind="Markdown"))))
    write("fuzz_diff_widget", pair(card(text("t", "abc")), card(text("t", "xyz"))))
    write("fuzz_diff_widget", pair(card(text("t", "a")), card(text("u", "a"))))
    write("fuzz_diff_widget", pair(card({"type": "Row", "children": [text("t", "a")]}, size="sm"),
                                   card({"type": "Row", "children": [text("t", "ab")]}, size="sm")))
    write("fuzz_diff_widget", pair(card(text("t", "a"), theme=None), card(text("t", "a"))))
    write("fuzz_diff_widget", pair(card(text("t", "a")), {"type": "ListView", "children": []}))
    for case in load("items.json"):
        item = json.loads(case["wire"])
        if item.get("type") == "widget" and isinstance(item.get("widget"), dict):
            write("fuzz_diff_widget", pair(item["widget"], item["widget"]))

    # SSE decoder (fuzz_sse): a chunking byte + the recorded model streams, when present.
    llm = ROOT / "tests" / "data" / "llm"
    if llm.is_dir():
        for path in sorted(llm.glob("*.sse")):
            write("fuzz_sse", bytes([5]) + path.read_bytes())
    write("fuzz_sse", b"\x01\xef\xbb\xbfdata: a\r\ndata: b\r\rid: 7\nretry: 10\n: ping\nevent: x\n\n")

    # JWT (fuzz_jwt): mode byte + token / header NUL payload / JWK Set. HS256 with the target's key.
    import base64, hmac
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")
    def token(header: dict, payload: dict) -> bytes:
        signing = b64(json.dumps(header).encode()) + b"." + b64(json.dumps(payload).encode())
        return signing + b"." + b64(hmac.new(b"k" * 32, signing, "sha256").digest())
    good = {"sub": "alice", "exp": 1800000000, "iat": 1767225000, "aud": ["chatkit"], "iss": "https://issuer"}
    write("fuzz_jwt", b"\x00" + token({"alg": "HS256", "typ": "JWT", "kid": "fuzz"}, good))
    write("fuzz_jwt", b"\x00" + token({"alg": "HS256"}, {"sub": "bob", "exp": 1700000000}))
    write("fuzz_jwt", b"\x00" + token({"alg": "none"}, good)[:-10])
    write("fuzz_jwt", b"\x00eyJhbGciOiJIUzI1NiJ9.e30.")
    write("fuzz_jwt", b"\x01" + json.dumps({"alg": "HS256", "kid": "fuzz"}).encode() + b"\0" + json.dumps(good).encode())
    write("fuzz_jwt", b"\x01" + b'{"alg":"HS256","crit":["exp"]}' + b"\0" + b'{"sub":"a","sub":"b","exp":1800000000}')
    write("fuzz_jwt", b"\x02" + json.dumps({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "e1", "use": "sig", "alg": "ES256",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "oct", "k": "c2VjcmV0", "kid": "o1"},
        {"kty": "RSA", "kid": "r1", "n": "sXch", "e": "AQAB"}]}).encode())
    write("fuzz_jwt", b"\x02" + b'{"keys":"x"}')

    # Media types (fuzz_media_type) and header values (fuzz_header_writer: name NUL value).
    for mime in (b"image/png", b'Text/Plain; charset="utf-8"; format=flowed', b"image/svg+xml",
                 b"image/png;\r\nX-Injected: 1\r\n\r\n<script>", b"image/png, text/html",
                 b'application/vnd.api+json; q="a\\"b"'):
        write("fuzz_media_type", mime)
    for field in (b'attachment; filename="a.txt"', b"Content-Disposition\0inline", b"X-A\0v\r\nX-Injected: 1",
                  b"Bad Name\0v", b"X-Tab\0\tpadded value\t"):
        write("fuzz_header_writer", field)


if __name__ == "__main__":
    main()
