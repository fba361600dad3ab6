// A tiny same-origin proxy for httpOnly-cookie deployments where the ChatKit backend runs on
// another origin: the browser sends its session cookie to this server, which forwards POST
// /chatkit to the backend with `Authorization: Bearer <cookie value>` and streams the answer back
// (SSE included). It also serves the built app (dist/).
//
// auth_server accepts the cookie itself (--cookie-name), so same-origin deployments need no proxy.
//
//   CHATKIT_BACKEND=http://127.0.0.1:8000 node proxy/cookie-proxy.mjs   # listens on :5174
import { createServer, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

export const COOKIE_NAME = process.env.CHATKIT_COOKIE_NAME ?? "ck_session";

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(cookieHeader, name) {
  for (const part of (cookieHeader ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** The headers sent upstream: the session cookie becomes a bearer token; cookies are dropped. */
export function upstreamHeaders(incoming, cookieName = COOKIE_NAME) {
  const out = {};
  for (const [k, v] of Object.entries(incoming)) {
    if (["host", "cookie", "authorization", "connection"].includes(k.toLowerCase())) continue;
    out[k] = v;
  }
  const token = readCookie(incoming.cookie, cookieName);
  if (token) out.authorization = `Bearer ${token}`;
  return out;
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };

/** Creates the proxy server (not listening yet). */
export function createProxy({ backend, distDir, cookieName = COOKIE_NAME, secureCookie = false }) {
  const target = new URL(backend);
  return createServer(async (req, res) => {
    if (req.method === "POST" && req.url === "/chatkit") {
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const upstream = send(
        new URL(target.pathname.replace(/\/$/, "") + "/chatkit", target),
        { method: "POST", headers: upstreamHeaders(req.headers, cookieName) },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res); // SSE streams through chunk by chunk
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end('{"error":{"code":"bad_gateway","message":"backend unreachable"}}');
      });
      // The user stopped (the browser closed the connection): cancel the backend stream too.
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
      return;
    }
    if (req.method === "POST" && req.url === "/session") {
      // Development stand-in for a login flow: stores a token in an httpOnly cookie.
      let body = "";
      for await (const chunk of req) body += chunk;
      let token = "";
      try {
        token = String(JSON.parse(body).token ?? "");
      } catch {
        token = "";
      }
      if (!/^[A-Za-z0-9._~+/-]+=*$/.test(token)) {
        res.writeHead(400).end();
        return;
      }
      const attrs = ["HttpOnly", "SameSite=Strict", "Path=/"].concat(secureCookie ? ["Secure"] : []);
      res.writeHead(204, { "set-cookie": `${cookieName}=${token}; ${attrs.join("; ")}` }).end();
      return;
    }
    if (req.method === "GET" && distDir) {
      const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
      const file = join(distDir, path.endsWith("/") ? "index.html" : path);
      if (!file.startsWith(distDir)) {
        res.writeHead(404).end();
        return;
      }
      try {
        const data = await readFile(file);
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(data);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    res.writeHead(404).end();
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.env.PORT ?? 5174);
  const distDir = join(fileURLToPath(new URL("..", import.meta.url)), "dist");
  createProxy({ backend: process.env.CHATKIT_BACKEND ?? "http://127.0.0.1:8000", distDir }).listen(port, "127.0.0.1", () =>
    console.log(`listening on http://127.0.0.1:${port}`),
  );
}
