import { describe, expect, it } from "vitest";
import { collectPageContext, createChatKitFetch, PAGE_LIMITS } from "./chatkitFetch.js";
import { waitForChatKit } from "./waitForChatKit.js";

function recorder() {
  const calls = [];
  const baseFetch = async (input, init) => {
    calls.push({ input, init });
    return new Response("{}", { status: 200 });
  };
  return { calls, baseFetch };
}

const page = { url: "https://app.test/pricing", title: "Pricing", path: "/pricing", description: "", headings: ["Plans"] };

describe("createChatKitFetch", () => {
  it("adds the bearer token and merges the page context into the request metadata", async () => {
    const { calls, baseFetch } = recorder();
    const fetch = createChatKitFetch({ getToken: async () => "tok.en.x", getPageContext: () => page, baseFetch });
    const body = JSON.stringify({ type: "threads.create", params: { input: {} }, metadata: { locale: "fr" } });
    await fetch("/chatkit", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    expect(calls).toHaveLength(1);
    const { input, init } = calls[0];
    expect(input).toBe("/chatkit");
    expect(init.headers.get("Authorization")).toBe("Bearer tok.en.x");
    expect(init.headers.get("Content-Type")).toBe("application/json");
    const sent = JSON.parse(init.body);
    expect(sent.type).toBe("threads.create");
    expect(sent.metadata).toEqual({ locale: "fr", page });
    expect(init.credentials).toBe("same-origin");
  });

  it("sends no Authorization header without a token (cookie deployments)", async () => {
    const { calls, baseFetch } = recorder();
    const fetch = createChatKitFetch({ getToken: () => null, getPageContext: () => page, baseFetch, credentials: "include" });
    await fetch("/chatkit", { method: "POST", body: '{"type":"threads.list","params":{}}' });
    expect(calls[0].init.headers.has("Authorization")).toBe(false);
    expect(calls[0].init.credentials).toBe("include");
    expect(JSON.parse(calls[0].init.body).metadata.page.title).toBe("Pricing");
  });

  it("leaves bodies that are not JSON objects untouched", async () => {
    const { calls, baseFetch } = recorder();
    const fetch = createChatKitFetch({ getToken: () => "t", getPageContext: () => page, baseFetch });
    const form = new FormData();
    form.append("file", "bytes");
    await fetch("/upload", { method: "POST", body: form });
    await fetch("/chatkit", { method: "POST", body: "not json" });
    await fetch("/chatkit", { method: "POST", body: "[1,2]" });
    await fetch("/chatkit", { method: "GET" });
    expect(calls[0].init.body).toBe(form);
    expect(calls[1].init.body).toBe("not json");
    expect(calls[2].init.body).toBe("[1,2]");
    expect(calls[3].init.body).toBeUndefined();
    for (const c of calls) expect(c.init.headers.get("Authorization")).toBe("Bearer t");
  });

  it("replaces a non-object metadata and skips a null page context", async () => {
    const { calls, baseFetch } = recorder();
    await createChatKitFetch({ getPageContext: () => page, baseFetch })("/c", { body: '{"metadata":"x"}' });
    expect(JSON.parse(calls[0].init.body).metadata).toEqual({ page });
    await createChatKitFetch({ getPageContext: () => null, baseFetch })("/c", { body: '{"a":1}' });
    expect(JSON.parse(calls[1].init.body)).toEqual({ a: 1 });
  });
});

describe("collectPageContext", () => {
  const heading = (text) => ({ textContent: text });
  const doc = {
    title: "  Pricing \n plans ",
    querySelector: (sel) => (sel.includes("description") ? { getAttribute: () => "All our plans" } : null),
    querySelectorAll: () => [heading("Plans"), heading(""), heading("x".repeat(500)), ...Array(40).fill(heading("h"))],
  };
  const loc = { href: "https://app.test/pricing?x=1", pathname: "/pricing" };

  it("reads url, title, path, description and headings, size-capped", () => {
    const ctx = collectPageContext(doc, loc);
    expect(ctx.url).toBe("https://app.test/pricing?x=1");
    expect(ctx.title).toBe("Pricing plans");
    expect(ctx.path).toBe("/pricing");
    expect(ctx.description).toBe("All our plans");
    expect(ctx.headings[0]).toBe("Plans");
    expect(ctx.headings[1]).toHaveLength(PAGE_LIMITS.heading);
    expect(ctx.headings).toHaveLength(PAGE_LIMITS.headings);
  });

  it("is empty without a document", () => {
    expect(collectPageContext(undefined, undefined)).toEqual({});
  });
});

describe("waitForChatKit", () => {
  it("resolves once the element is defined and rejects on timeout", async () => {
    let define;
    const registry = { get: () => undefined, whenDefined: () => new Promise((r) => (define = r)) };
    const waiting = waitForChatKit(1000, registry);
    define();
    await expect(waiting).resolves.toBeUndefined();
    const never = { get: () => undefined, whenDefined: () => new Promise(() => {}) };
    await expect(waitForChatKit(10, never)).rejects.toThrow(/cdn.platform.openai.com/);
    await expect(waitForChatKit(10, { get: () => class {}, whenDefined: () => null })).resolves.toBeUndefined();
  });
});
