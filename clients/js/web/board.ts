// The status board page (services/status-query/wwwroot/board.js is built from this file by `npm run build:web`): polls
// the board endpoint (If-None-Match, so an unchanged board is a bodiless 304) and, when the realtime gateway is
// reachable, applies its `presence-changed` pushes at once. Without the gateway it keeps working by polling alone.
// It loads the page's one copy of the client, /js/presence.js (built from clients/js/src), on demand: without it the
// page polls alone.
import type { Board, BoardTherapist, PresenceChange } from "./js/presence.js";

type Client = typeof import("./js/presence.js");
let client: Client | null = null;

interface PageConfig { pollSeconds: number; hubUrl: string | null; boardUrl: string; refreshAfterPushSeconds: number }

const state = {
  etag: null as string | null,
  board: null as Board | null,
  config: null as unknown as PageConfig,
  refreshTimer: undefined as ReturnType<typeof setTimeout> | undefined,
  pollTimer: undefined as ReturnType<typeof setTimeout> | undefined,
};
const $ = (id: string): HTMLElement => document.getElementById(id)!;

function label(t: BoardTherapist): string {
  if (t.status === "online") return "Online now";
  if (t.status === "recent") return t.lastActiveAgo ? `Recently active · ${t.lastActiveAgo}` : "Recently active";
  return "Available";
}

function render(): void {
  const board = state.board;
  if (!board) return;
  for (const key of ["online", "recent", "available"] as const) {
    document.querySelector(`[data-count="${key}"]`)!.textContent = String(board.counts[key]);
  }
  const rows = board.therapists.map((t) => {
    const li = document.createElement("li");
    li.className = "therapist";
    li.dataset.id = t.id;
    li.dataset.status = t.status;
    const dot = document.createElement("span");
    dot.className = `dot ${t.status}`;
    dot.setAttribute("aria-hidden", "true");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = t.id;
    const text = document.createElement("span");
    text.className = "label";
    text.textContent = label(t);
    li.append(dot, name, text);
    if (t.available && t.status !== "available") {
      const accepting = document.createElement("span");
      accepting.className = "accepting";
      accepting.textContent = "Accepting sessions";
      li.append(accepting);
    }
    return li;
  });
  $("board").replaceChildren(...rows);
  $("empty").hidden = rows.length > 0;
}

function showProblem(text: string): void {
  const banner = $("problem");
  banner.textContent = text || "";
  banner.hidden = !text;
}

async function poll(): Promise<void> {
  clearTimeout(state.pollTimer);
  try {
    const headers: Record<string, string> = state.etag ? { "If-None-Match": state.etag } : {};
    // no-store: the browser cache must not answer for the server, or a 304 would never reach this code.
    const response = await fetch(state.config.boardUrl, { headers, cache: "no-store" });
    if (response.status === 200) {
      state.board = (await response.json()) as Board;
      state.etag = response.headers.get("ETag");
      render();
    } else if (response.status !== 304) {
      throw new Error(`HTTP ${response.status}`);
    }
    const stale = response.headers.get("X-Presence-Stale") === "true";
    const age = Number(response.headers.get("Age") || 0);
    showProblem(stale ? `Showing the board as it was ${age} s ago: live status is unavailable right now.` : "");
    $("updated").textContent = `Checked ${new Date().toLocaleTimeString()}`;
  } catch {
    showProblem(state.board
      ? "Cannot reach the status service; showing the last board received, retrying."
      : "Cannot reach the status service; retrying.");
  } finally {
    state.pollTimer = setTimeout(poll, state.config.pollSeconds * 1000);
  }
}

// A push is applied at once (older than the therapist's known ver: dropped); the board is re-read a little later for
// server-made text and exact counts.
function applyChange(change: PresenceChange): void {
  const board = state.board && client && client.applyBoardChange(state.board, change);
  if (!board) return;
  state.board = board;
  render();
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(poll, state.config.refreshAfterPushSeconds * 1000);
}

function setConnection(text: string): void {
  $("connection").textContent = `Live updates: ${text}`;
}

// Jittered reconnects and re-watch after a reconnect are the client's; a snapshot after a reconnect means pushes may
// have been missed, so the board is re-read.
async function connectLive(): Promise<void> {
  const hubUrl = state.config.hubUrl;
  const polling = `polling every ${state.config.pollSeconds} s`;
  if (!hubUrl) {
    setConnection(`off (${polling})`);
    return;
  }
  try {
    client = await import("./js/presence.js");
  } catch {
    setConnection(`unavailable (${polling})`);
    return;
  }
  const { configure, realtime } = client;
  configure({ gatewayUrl: hubUrl });
  realtime.onPresenceChanged(applyChange);
  let reconnected = false;
  realtime.onStateChanged((s) => {
    if (s === "connected") {
      setConnection("on");
      if (reconnected) void poll();
      reconnected = true;
    } else if (s === "reconnecting") {
      setConnection("reconnecting (polling meanwhile)");
    } else if (s === "retrying") {
      setConnection("gateway unreachable (polling)");
    }
  });
  try {
    void realtime.watchTherapists();
    await realtime.connect();
  } catch {
    setConnection("gateway unreachable (polling)");
  }
}

async function main(): Promise<void> {
  try {
    const response = await fetch("v1/board/config", { cache: "no-store" });
    state.config = (await response.json()) as PageConfig;
  } catch {
    state.config = { pollSeconds: 30, hubUrl: null, boardUrl: "v1/therapists/status/realtime", refreshAfterPushSeconds: 5 };
  }
  state.config.boardUrl = state.config.boardUrl.replace(/^\//, "");
  await poll();
  void connectLive();
}

void main();
