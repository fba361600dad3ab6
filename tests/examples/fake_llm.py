"""A loopback OpenAI-compatible Chat Completions server with fault injection, for tests that drive a
real example server (tests/examples/provider_faults.py, tests/soak/soak.py).

    llm = FakeLlm(word_delay=0.005)        # listens on 127.0.0.1, a free port
    env["OPENAI_BASE_URL"] = llm.base_url  # http://127.0.0.1:PORT/v1
    llm.script("http_500", "ok")           # the next requests' behaviour, in order
    llm.fault_rate = 0.1                   # or: random faults (after the script is used up)
    ...
    llm.close()

`POST /v1/chat/completions` streams (SSE, chunked) an answer of `words` words (`long_words` when the
last user message asks for "a long answer"), one every `word_delay` seconds: "You said: <the start of
the last user message>", filler words, and `END` (the last word of every complete answer). Every response
closes its connection, so the client keeps no pooled socket open between requests. Behaviours:

  ok          the whole answer, `finish_reason: stop`, `data: [DONE]`;
  http_500    `500` with an OpenAI error body (the client retries it);
  http_400    `400` with an OpenAI error body (never retried);
  stall       the response header, then silence until the client gives up;
  stall_mid   a few words, then silence;
  drop        no answer: the connection closes right after the request is read;
  drop_mid    a few words, then the connection closes without the final chunk;
  garbage     a `200 text/event-stream` whose events are not JSON.

`counts` holds how many requests got each behaviour; `fault_kinds` are the kinds chosen at random.
"""
import json
import random
import socket
import socketserver
import threading
import time

END = "END"  # the last word of every complete answer
FAULT_KINDS = ("http_500", "stall", "stall_mid", "drop_mid", "garbage", "drop")


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        llm: "FakeLlm" = self.server.llm  # type: ignore[attr-defined]
        sock: socket.socket = self.request
        sock.settimeout(60)
        try:
            body = self._read_request(sock)
        except (OSError, ValueError):
            return
        if body is None:
            return
        kind = llm._next_kind()
        try:
            llm._serve(sock, kind, body)
        except OSError:
            pass  # the client went away (a cancelled stream, a stall it gave up on)

    @staticmethod
    def _read_request(sock: socket.socket) -> bytes | None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                return None
            buf += data
        head, rest = buf.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            data = sock.recv(65536)
            if not data:
                return None
            rest += data
        return rest[:length]


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


class FakeLlm:
    def __init__(self, word_delay: float = 0.005, words: int = 12, fault_rate: float = 0.0, seed: int = 1,
                 long_words: int = 60):
        self.word_delay = word_delay
        self.words = words
        self.long_words = long_words
        self.fault_rate = fault_rate
        self.stall_seconds = 30.0
        self.counts: dict[str, int] = {}
        self._script: list[str] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.llm = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def script(self, *kinds: str) -> None:
        """The behaviours of the next requests, in order (then random faults at `fault_rate`)."""
        with self._lock:
            self._script.extend(kinds)

    def requests(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def faults(self) -> dict[str, int]:
        with self._lock:
            return {k: v for k, v in self.counts.items() if k != "ok"}

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def _next_kind(self) -> str:
        with self._lock:
            if self._script:
                kind = self._script.pop(0)
            elif self.fault_rate > 0 and self._random.random() < self.fault_rate:
                kind = self._random.choice(FAULT_KINDS)
            else:
                kind = "ok"
            self.counts[kind] = self.counts.get(kind, 0) + 1
            return kind

    def _serve(self, sock: socket.socket, kind: str, body: bytes) -> None:
        if kind == "drop":
            sock.shutdown(socket.SHUT_RDWR)
            return
        if kind in ("http_500", "http_400"):
            status = "500 Internal Server Error" if kind == "http_500" else "400 Bad Request"
            payload = json.dumps({"error": {"message": "injected fault", "type": "server_error" if kind == "http_500"
                                            else "invalid_request_error", "param": None, "code": None}}).encode()
            sock.sendall((f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nx-request-id: req_fake\r\n"
                          f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode() + payload)
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                     b"Connection: close\r\n\r\n")

        def chunk(data: bytes) -> None:
            sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def event(obj) -> None:
            chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n")

        if kind == "stall":
            self._closing.wait(self.stall_seconds)
            return
        if kind == "garbage":
            event(b"{this is not json")
            event(b"\x00\xff garbage \xfe")
            chunk(b"data: [DONE]\n\n")
            sock.sendall(b"0\r\n\r\n")
            return
        try:
            request = json.loads(body)
            last = [m for m in request.get("messages", []) if m.get("role") == "user"][-1]
            content = last.get("content")
            text = content if isinstance(content, str) else " ".join(
                p.get("text", "") for p in content if isinstance(p, dict))
        except (ValueError, IndexError, AttributeError, TypeError):
            text = ""
        count = self.long_words if "a long answer" in text else self.words
        words = ("You said: " + " ".join(text.split()[:6])).split()
        words += [f"word{n}" for n in range(max(0, count - len(words) - 1))] + [END]
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": "fake"}
        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]})
        for n, word in enumerate(words):
            if kind in ("stall_mid", "drop_mid") and n == 3:
                if kind == "stall_mid":
                    self._closing.wait(self.stall_seconds)
                else:
                    sock.shutdown(socket.SHUT_RDWR)
                return
            time.sleep(self.word_delay)
            event({**base, "choices": [{"index": 0, "delta": {"content": (" " if n else "") + word},
                                        "finish_reason": None}]})
        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        event(b"[DONE]")
        sock.sendall(b"0\r\n\r\n")
