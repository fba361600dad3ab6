import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProxy, readCookie, upstreamHeaders } from "./cookie-proxy.mjs";

describe("cookie helpers", () => {
  it("reads a named cookie", () => {
    expect(readCookie("a=1; ck_session=tok.en.x; b=2", "ck_session")).toBe("tok.en.x");
    expect(readCookie("ck_session_other=1", "ck_session")).toBeNull();
    expect(readCookie(undefined, "ck_session")).toBeNull();
  });
  it("turns the session cookie into a bearer token and drops other credentials", () => {
    const h = upstreamHeaders({ host: "x", cookie: "ck_session=abc", authorization: "Basic zzz", "content-type": "application/json" });
    expect(h).toEqual({ "content-type": "application/json", authorization: "Bearer abc" });
  });
});

describe("proxy end to end (loopback)", () => {
  let backend, proxy, seen;
  beforeAll(async () => {
    backend = createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: {\"type\":\"one\"}\n\n");
      res.end("data: {\"type\":\"two\"}\n\n");
    });
    await new Promise((r) => backend.listen(0, "127.0.0.1", r));
    proxy = createProxy({ backend: `http://127.0.0.1:${backend.address().port}` });
    await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  });
  afterAll(() => {
    backend.close();
    proxy.close();
  });

  it("sets an httpOnly cookie and forwards it as Authorization, streaming the answer", async () => {
    const base = `http://127.0.0.1:${proxy.address().port}`;
    const login = await fetch(`${base}/session`, { method: "POST", body: JSON.stringify({ token: "aa.bb.cc" }) });
    expect(login.status).toBe(204);
    const cookie = login.headers.get("set-cookie");
    expect(cookie).toMatch(/^ck_session=aa\.bb\.cc; HttpOnly; SameSite=Strict/);
    const answer = await fetch(`${base}/chatkit`, {
      method: "POST",
      headers: { cookie: "ck_session=aa.bb.cc", "content-type": "application/json" },
      body: '{"type":"threads.list","params":{}}',
    });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('data: {"type":"one"}\n\ndata: {"type":"two"}\n\n');
    expect(seen.authorization).toBe("Bearer aa.bb.cc");
    expect(seen.cookie).toBeUndefined();
    const bad = await fetch(`${base}/session`, { method: "POST", body: JSON.stringify({ token: "a b" }) });
    expect(bad.status).toBe(400);
  });
});
