// A small React app that uses @presence/client as a frontend would: imported by package name (resolved through the
// package's exports, from dist/), bundled by esbuild (build.mjs), run in Chromium by
// tests/Presence.Client.Tests/PackageEndToEndTests.cs against the services behind the local proxy.
import { configure, heartbeat, realtime } from "@presence/client";
import { useHeartbeat, usePresence, useTherapistBoard } from "@presence/client/react";
import { useEffect, useSyncExternalStore } from "react";
import { createRoot } from "react-dom/client";

const params = new URLSearchParams(location.search);
// As a Next.js app would: configure({ backendUrl: process.env.NEXT_PUBLIC_BACKEND_URL }).
configure({ backendUrl: params.get("backend") ?? "http://localhost:3001/v1", minIntervalMs: 1000, boardPollMs: 60_000 });

// The app's auth state: a token the test logs in with, refreshes and clears.
const auth = {
  token: null as string | null,
  listeners: new Set<() => void>(),
  set(token: string | null) {
    auth.token = token;
    for (const listener of auth.listeners) listener();
  },
  subscribe(listener: () => void) {
    auth.listeners.add(listener);
    return () => auth.listeners.delete(listener);
  },
};
const getToken = async () => auth.token;

declare global {
  interface Window { app: unknown }
}
window.app = {
  login: (token: string) => auth.set(token),
  refresh: (token: string) => auth.set(token),
  logout: () => auth.set(null),
  /** Connects the hub with this token's provider (null: anonymous). */
  connect: (token: string | null) => realtime.connect(token ? async () => token : null),
  heartbeat,
  realtime,
};

function App() {
  const token = useSyncExternalStore(auth.subscribe, () => auth.token);
  // A new provider on every render, as inline arrow functions are: the hook must not restart or sign off for it.
  const last = useHeartbeat(token ? () => getToken() : null, "therapist");
  const { board } = useTherapistBoard();
  const watched = usePresence(["t-watched"]);
  useEffect(() => {
    if (params.get("live") !== "off") void realtime.connect();
  }, []);
  return (
    <main>
      <p id="session">{token ? "signed in" : "signed out"}</p>
      <p id="heartbeat">{last?.outcome ?? "none"}</p>
      <p id="watched" data-status={watched.get("therapist:t-watched")?.status ?? "unknown"}>t-watched</p>
      <ul id="board">
        {board?.therapists.map((t) => <li key={t.id} data-id={t.id} data-status={t.status}>{t.id}</li>)}
      </ul>
    </main>
  );
}

createRoot(document.getElementById("root")!).render(<App />);
