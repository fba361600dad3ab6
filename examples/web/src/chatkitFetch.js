// The custom `fetch` given to ChatKit (`useChatKit({ api: { fetch } })`): every request to the
// backend gets the caller's token and the page context. No framework code here, so it is easy to
// copy and to unit-test.

/** Size caps for the page context (the server caps again: never trust the client). */
export const PAGE_LIMITS = { field: 2048, headings: 20, heading: 200 };

function cap(text, max) {
  if (typeof text !== "string") return "";
  const trimmed = text.replace(/\s+/g, " ").trim();
  return trimmed.length > max ? trimmed.slice(0, max) : trimmed;
}

/**
 * What the page says about itself: url, title, path, description and the h1-h3 headings,
 * size-capped. `doc` and `loc` default to the browser's document and location.
 */
export function collectPageContext(doc = globalThis.document, loc = globalThis.location, limits = PAGE_LIMITS) {
  if (!doc) return {};
  const description = doc.querySelector?.('meta[name="description"]')?.getAttribute("content") ?? "";
  const headings = Array.from(doc.querySelectorAll?.("h1, h2, h3") ?? [])
    .map((h) => cap(h.textContent, limits.heading))
    .filter(Boolean)
    .slice(0, limits.headings);
  return {
    url: cap(loc?.href ?? "", limits.field),
    title: cap(doc.title ?? "", limits.field),
    path: cap(loc?.pathname ?? "", limits.field),
    description: cap(description, limits.field),
    headings,
  };
}

/**
 * Builds the fetch ChatKit calls.
 *
 * - `getToken()` (sync or async) returns the access token, or null to send none (cookie
 *   deployments: the browser adds the httpOnly cookie itself when `credentials` allows it).
 * - `getPageContext()` returns the object sent as `metadata.page` (null to send none).
 * - JSON request bodies get `metadata.page` merged in; other bodies (file uploads) pass untouched.
 * - `baseFetch` is the real fetch (injectable for tests).
 */
export function createChatKitFetch({
  getToken = () => null,
  getPageContext = () => collectPageContext(),
  baseFetch = (...args) => globalThis.fetch(...args),
  credentials = "same-origin",
} = {}) {
  return async function chatkitFetch(input, init = {}) {
    const headers = new Headers(init.headers ?? {});
    const token = await getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);

    let body = init.body;
    if (typeof body === "string" && body.length > 0) {
      try {
        const parsed = JSON.parse(body);
        const page = getPageContext();
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && page) {
          const metadata = parsed.metadata && typeof parsed.metadata === "object" ? parsed.metadata : {};
          parsed.metadata = { ...metadata, page };
          body = JSON.stringify(parsed);
        }
      } catch {
        // not JSON: leave it as it is
      }
    }
    return baseFetch(input, { ...init, headers, body, credentials: init.credentials ?? credentials });
  };
}
