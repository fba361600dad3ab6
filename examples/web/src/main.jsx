import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import App from "./App.jsx";
import { waitForChatKit } from "./waitForChatKit.js";

const root = createRoot(document.getElementById("root"));

// Wait for the web component's script (OpenAI CDN) before rendering: <ChatKit> needs the
// <openai-chatkit> element to be defined.
waitForChatKit()
  .then(() =>
    root.render(
      <StrictMode>
        <App />
      </StrictMode>,
    ),
  )
  .catch((error) =>
    root.render(
      <p className="error">
        {String(error.message)}. Without network access to OpenAI's CDN, use the offline playground of
        examples/quickstart.
      </p>,
    ),
  );
