import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { useMemo, useState } from "react";
import { createChatKitFetch } from "./chatkitFetch.js";

// Where ChatKit sends its requests: same origin (Vite's dev proxy or the cookie proxy forwards
// /chatkit to auth_server), so no CORS is needed.
const API_URL = import.meta.env.VITE_CHATKIT_API_URL ?? "/chatkit";
const DOMAIN_KEY = import.meta.env.VITE_CHATKIT_DOMAIN_KEY ?? "local-dev";
const TOKEN_KEY = "chatkit-dev-token";

function Chat({ token }) {
  // A stable fetch: adds the bearer token (when there is one) and the page context.
  const fetch = useMemo(() => createChatKitFetch({ getToken: () => token }), [token]);
  const { control } = useChatKit({ api: { url: API_URL, domainKey: DOMAIN_KEY, fetch } });
  return <ChatKit control={control} className="chat" />;
}

export default function App() {
  const [token, setToken] = useState(() => sessionStorage.getItem(TOKEN_KEY) ?? "");
  const [draft, setDraft] = useState(token);
  const save = (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, draft.trim());
    setToken(draft.trim());
  };
  return (
    <main>
      <h1>Pricing</h1>
      <h2>Questions about plans?</h2>
      <p>The assistant sees this page's title, URL and headings (sent as request metadata).</p>
      <form onSubmit={save} className="token">
        <label>
          Development token (<code>auth_server issue-token --sub alice</code>), or leave empty when the
          cookie proxy sets an httpOnly cookie:
          <input value={draft} onChange={(e) => setDraft(e.target.value)} placeholder="eyJ..." />
        </label>
        <button type="submit">Use token</button>
      </form>
      <Chat key={token} token={token || null} />
    </main>
  );
}
