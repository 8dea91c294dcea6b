// The status board (an ES module): polls the board endpoint (If-None-Match, so an unchanged board is a bodiless 304) and,
// when the realtime gateway is reachable, applies its `presence-changed` pushes at once. Without the
// gateway, or without the vendored SignalR client, it keeps working by polling alone.
import { configure, realtime } from "./js/presence.js";

{

  const ORDER = { online: 0, recent: 1, available: 2 };
  const state = { etag: null, board: null, config: null, refreshTimer: null, pollTimer: null, versions: new Map() };
  const $ = (id) => document.getElementById(id);

  function label(t) {
    if (t.status === "online") return "Online now";
    if (t.status === "recent") return t.lastActiveAgo ? `Recently active · ${t.lastActiveAgo}` : "Recently active";
    return "Available";
  }

  function render() {
    const board = state.board;
    if (!board) return;
    for (const key of ["online", "recent", "available"]) {
      document.querySelector(`[data-count="${key}"]`).textContent = String(board.counts[key]);
    }
    const list = $("board");
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
    list.replaceChildren(...rows);
    $("empty").hidden = rows.length > 0;
  }

  function showProblem(text) {
    const banner = $("problem");
    banner.textContent = text || "";
    banner.hidden = !text;
  }

  async function poll() {
    clearTimeout(state.pollTimer);
    try {
      const headers = state.etag ? { "If-None-Match": state.etag } : {};
      // no-store: the browser cache must not answer for the server, or a 304 would never reach this code.
      const response = await fetch(state.config.boardUrl, { headers, cache: "no-store" });
      if (response.status === 200) {
        state.board = await response.json();
        state.etag = response.headers.get("ETag");
        render();
      } else if (response.status !== 304) {
        throw new Error(`HTTP ${response.status}`);
      }
      const stale = response.headers.get("X-Presence-Stale") === "true";
      const age = Number(response.headers.get("Age") || 0);
      showProblem(stale ? `Showing the board as it was ${age} s ago: live status is unavailable right now.` : "");
      $("updated").textContent = `Checked ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      showProblem(state.board
        ? "Cannot reach the status service; showing the last board received, retrying."
        : "Cannot reach the status service; retrying.");
    } finally {
      state.pollTimer = setTimeout(poll, state.config.pollSeconds * 1000);
    }
  }

  // A push is applied at once; the board is re-read a little later for server-made text and exact counts.
  // A push carries the therapist's whole state and its `ver` (docs/architecture.md, "Versions"): one older than what
  // the board already shows (from a poll or an earlier push) is dropped.
  function applyChange(change) {
    const board = state.board;
    if (!board || change.role !== "therapist" || typeof change.id !== "string") return;
    if (!["online", "recent", "offline"].includes(change.status)) return;
    const list = board.therapists;
    let t = list.find((x) => x.id === change.id);
    const ver = Number(change.ver) || 0;
    if (ver <= Math.max(Number(t?.ver) || 0, state.versions.get(change.id) || 0)) return;
    state.versions.set(change.id, ver);
    if (!t) {
      t = { id: change.id, status: "available", available: false, lastActive: null, lastActiveAgo: null, specialties: [] };
      list.push(t);
    }
    t.ver = ver;
    t.available = change.available === true || change.available === 1 || change.available === "1";
    t.availableUntil = change.availableUntil ?? null;
    if (change.lastActive) t.lastActive = change.lastActive;
    // "offline" leaves the online and recent buckets: still listed while available.
    t.status = change.status === "offline" ? "available" : change.status;
    t.lastActiveAgo = change.status === "online" ? "just now" : null;
    board.therapists = list.filter((x) => x.status !== "available" || x.available);
    board.therapists.sort((a, b) => (ORDER[a.status] - ORDER[b.status])
      || (Date.parse(b.lastActive || 0) - Date.parse(a.lastActive || 0))
      || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const key of Object.keys(ORDER)) {
      board.counts[key] = board.therapists.filter((x) => x.status === key).length;
    }
    render();
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(poll, state.config.refreshAfterPushSeconds * 1000);
  }

  function setConnection(text) {
    $("connection").textContent = `Live updates: ${text}`;
  }

  // The realtime part is the shared browser client (js/presence.js): jittered reconnects, re-watch after a
  // reconnect; a snapshot after a reconnect means pushes may have been missed, so the board is re-read.
  async function connectLive() {
    const hubUrl = state.config.hubUrl;
    const polling = `polling every ${state.config.pollSeconds} s`;
    if (!hubUrl) { setConnection(`off (${polling})`); return; }
    configure({ gatewayUrl: hubUrl });
    realtime.onPresenceChanged(applyChange);
    let reconnected = false;
    realtime.onStateChanged((s) => {
      if (s === "connected") {
        setConnection("on");
        if (reconnected) poll();
        reconnected = true;
      } else if (s === "reconnecting") {
        setConnection("reconnecting (polling meanwhile)");
      } else if (s === "retrying") {
        setConnection("gateway unreachable (polling)");
      }
    });
    try {
      realtime.watchTherapists();
      await realtime.connect();
    } catch (error) {
      setConnection(error && error.code === "signalr-missing" ? `unavailable (${polling})` : "gateway unreachable (polling)");
    }
  }

  async function main() {
    try {
      const response = await fetch("v1/board/config", { cache: "no-store" });
      state.config = await response.json();
    } catch {
      state.config = { pollSeconds: 30, hubUrl: null, boardUrl: "v1/therapists/status/realtime", refreshAfterPushSeconds: 5 };
    }
    state.config.boardUrl = state.config.boardUrl.replace(/^\//, "");
    await poll();
    connectLive();
  }

  main();
}
