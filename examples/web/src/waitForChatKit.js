// The <openai-chatkit> element is defined by a script from OpenAI's CDN (index.html). Render the
// React tree only once it exists, and say so clearly when it never arrives (offline, blocked).

/** Resolves when `<openai-chatkit>` is defined; rejects after `timeoutMs`. */
export function waitForChatKit(timeoutMs = 15000, registry = globalThis.customElements) {
  if (!registry) return Promise.reject(new Error("custom elements are not supported"));
  if (registry.get("openai-chatkit")) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the ChatKit script did not load (it comes from cdn.platform.openai.com)")),
      timeoutMs,
    );
    registry.whenDefined("openai-chatkit").then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
