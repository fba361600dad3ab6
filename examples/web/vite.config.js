import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` serves the app on :5173 and forwards /chatkit to auth_server (same origin for the
// browser: no CORS, and cookies set for this origin reach the backend).
const backend = process.env.CHATKIT_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/chatkit": { target: backend, changeOrigin: true },
    },
  },
  build: {
    outDir: process.env.CHATKIT_WEB_OUT_DIR ?? "dist",
    emptyOutDir: true,
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.js", "proxy/**/*.test.js"],
  },
});
