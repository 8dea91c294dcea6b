// Presence browser client (ES module, no build step). Served by status-query at /js/presence.js.
//
//   import { configure, heartbeat, realtime } from "/js/presence.js";
//   configure({ heartbeatBaseUrl: "", gatewayUrl: "/hubs/presence" });   // both default to this origin
//   heartbeat.start(token, "therapist");                                   // login
//   heartbeat.stop();                                                      // logout (signs off)
//   realtime.connect(token); realtime.watchTherapists(); realtime.onPresenceChanged(change => ...);
//
// Heartbeats go over REST, or over the hub while `realtime` is connected with the same token. Every answer's
// `nextHeartbeatSeconds` sets the next delay; 429/503 wait for `Retry-After`. One tab per user sends (a Web Lock
// elects it; the last send time is shared in localStorage so a new sender keeps the min interval too). A page
// hidden longer than the grace period, or closed, signs off with a keepalive fetch unless another tab of the user
// is still visible; visible again sends at once. The hub reconnects with jittered delays (the SignalR default
// has none, so a gateway restart would bring every client back in the same instant), then re-joins, re-watches
// and hands the fresh snapshots to `onSnapshot` listeners. docs/clients.md shows integrations.

const defaults = {
  heartbeatBaseUrl: "",
  gatewayUrl: "/hubs/presence",
  signalR: null,
  signalRUrl: new URL("../lib/signalr.min.js", import.meta.url).href,
  minIntervalMs: 10_000,
  defaultIntervalMs: 30_000,
  maxIntervalMs: 300_000,
  hiddenGraceMs: 60_000,
  firstRetryWindowMs: 2_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  logLevel: "none",
};
const settings = { ...defaults };

/** Overrides settings (base URLs, intervals, grace period, an imported `@microsoft/signalr` as `signalR`). */
export function configure(options = {}) {
  Object.assign(settings, options);
  return { ...settings };
}

/**
 * Delay before reconnect attempt `previousRetries + 1`: the first spread over [0, firstRetryWindowMs), then
 * exponential with equal jitter (half fixed, half random) up to retryMaxMs. The .NET client's JitteredRetryPolicy
 * uses the same rule.
 */
export function jitteredDelay(previousRetries, random = Math.random) {
  if (previousRetries <= 0) return Math.floor(settings.firstRetryWindowMs * random());
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(previousRetries, 20));
  return Math.floor(ceiling / 2 + (ceiling / 2) * random());
}

/** A SignalR IRetryPolicy with jittered delays that never gives up. */
export const jitteredRetryPolicy = { nextRetryDelayInMilliseconds: (context) => jitteredDelay(context.previousRetryCount) };

const ROLES = { therapist: "therapists", community: "community", user: "community" };

function roleSegment(role) {
  const segment = ROLES[role];
  if (!segment) throw new Error(`Unknown role '${role}': use "therapist" or "community".`);
  return segment;
}

function subjectOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload + "===".slice((payload.length + 3) % 4))).sub ?? null;
  } catch {
    return null;
  }
}

function retryAfterMs(response, fallbackMs) {
  const header = response.headers.get("Retry-After");
  if (!header) return fallbackMs;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(1000, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(1000, date - Date.now()) : fallbackMs;
}

const url = (base, path) => `${String(base).replace(/\/$/, "")}${path}`;
const tabId = Math.random().toString(36).slice(2);
const isHidden = () => typeof document !== "undefined" && document.visibilityState === "hidden";

// ---------------------------------------------------------------------------------------------- heartbeat

const hb = {
  running: false,
  token: null,
  role: null,
  key: null,
  sender: false,
  releaseLock: null,
  lockAbort: null,
  timer: null,
  hiddenTimer: null,
  intervalMs: defaults.defaultIntervalMs,
  failures: 0,
  signedOff: false,
  channel: null,
  peers: new Map(),
  last: null,
  listeners: new Set(),
};

function emit(event) {
  hb.last = event;
  for (const listener of hb.listeners) {
    try { listener(event); } catch { /* a listener's error is its own */ }
  }
}

function lastSentAt() {
  try { return Number(localStorage.getItem(`${hb.key}:lastSent`) || 0); } catch { return 0; }
}

function markSent() {
  try { localStorage.setItem(`${hb.key}:lastSent`, String(Date.now())); } catch { /* storage off: per tab only */ }
}

function schedule(delayMs) {
  clearTimeout(hb.timer);
  if (!hb.running || !hb.sender) return;
  hb.timer = setTimeout(beat, Math.max(0, delayMs));
}

async function beat() {
  if (!hb.running || !hb.sender) return;
  if (hb.signedOff && isHidden()) return;
  const since = Date.now() - lastSentAt();
  const viaHub = realtime.isConnected() && rt.token === hb.token;
  // Another tab (or this one) sent less than the min interval ago: the server would refuse it.
  if (!viaHub && since < settings.minIntervalMs) {
    schedule(settings.minIntervalMs - since);
    return;
  }
  const body = { timestamp: new Date().toISOString() };
  // A hidden tab says so: the server then advertises a longer interval (docs/engagement.md).
  if (isHidden()) body.visible = false;
  try {
    let ack;
    if (viaHub) {
      ack = await rt.connection.invoke("heartbeat", body);
    } else {
      markSent();
      const response = await fetch(url(settings.heartbeatBaseUrl, `/v1/${roleSegment(hb.role)}/heartbeat`), {
        method: "POST",
        headers: { Authorization: `Bearer ${hb.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
      });
      // Again on the answer: the server stamped the heartbeat somewhere between send and answer, so the
      // min interval counted from here never undercuts the server's (which would turn a takeover into a 429).
      markSent();
      if (response.status === 429 || response.status === 503) {
        const wait = retryAfterMs(response, settings.minIntervalMs);
        emit({ outcome: response.status === 429 ? "throttled" : "unavailable", status: response.status, transport: "rest", nextDelayMs: wait });
        schedule(wait);
        return;
      }
      if (!response.ok) {
        emit({ outcome: "refused", status: response.status, transport: "rest", nextDelayMs: hb.intervalMs });
        schedule(hb.intervalMs);
        return;
      }
      ack = await response.json();
    }
    hb.failures = 0;
    hb.signedOff = false;
    const advertised = Math.max(1, Number(ack?.nextHeartbeatSeconds) || hb.intervalMs / 1000) * 1000;
    hb.intervalMs = Math.min(settings.maxIntervalMs, viaHub ? advertised : Math.max(settings.minIntervalMs, advertised));
    emit({ outcome: "accepted", status: 200, transport: viaHub ? "hub" : "rest", ack, nextDelayMs: hb.intervalMs });
    schedule(hb.intervalMs);
  } catch (error) {
    const wait = Math.min(hb.intervalMs, jitteredDelay(++hb.failures));
    emit({ outcome: "failed", error: String(error), transport: viaHub ? "hub" : "rest", nextDelayMs: wait });
    schedule(wait);
  }
}

function anotherTabVisible() {
  for (const peer of hb.peers.values()) if (peer.visible) return true;
  return false;
}

function signOff() {
  if (!hb.token || hb.signedOff) return;
  hb.signedOff = true;
  emit({ outcome: "signed-off", transport: "rest" });
  // keepalive: the request outlives the page (pagehide, tab closed).
  fetch(url(settings.heartbeatBaseUrl, `/v1/${roleSegment(hb.role)}/offline`), {
    method: "POST",
    headers: { Authorization: `Bearer ${hb.token}` },
    keepalive: true,
  }).catch(() => { /* the online window ends it anyway */ });
}

function announce(type) {
  hb.channel?.postMessage({ type, tab: tabId, visible: !isHidden() && hb.running });
}

function onPeerMessage(event) {
  const { type, tab, visible } = event.data || {};
  if (!tab || tab === tabId) return;
  if (type === "bye") hb.peers.delete(tab);
  else hb.peers.set(tab, { visible: Boolean(visible) });
  if (type === "hello") announce("state");
}

function acquireSender() {
  if (hb.sender || hb.lockAbort) return;
  if (!navigator.locks) {
    hb.sender = true;
    schedule(0);
    return;
  }
  hb.lockAbort = new AbortController();
  navigator.locks.request(hb.key, { signal: hb.lockAbort.signal }, () => new Promise((release) => {
    hb.lockAbort = null;
    if (!hb.running) { release(); return; }
    hb.sender = true;
    hb.releaseLock = release;
    emit({ outcome: "elected", transport: "none" });
    schedule(0);
  })).catch(() => { hb.lockAbort = null; });
}

function releaseSender() {
  hb.lockAbort?.abort();
  hb.lockAbort = null;
  hb.sender = false;
  clearTimeout(hb.timer);
  const release = hb.releaseLock;
  hb.releaseLock = null;
  release?.();
}

function onVisibilityChange() {
  announce("state");
  clearTimeout(hb.hiddenTimer);
  if (isHidden()) {
    hb.hiddenTimer = setTimeout(() => {
      if (!hb.running || !isHidden()) return;
      // Still hidden after the grace period: let a visible tab send, and sign off when there is none.
      const handOver = anotherTabVisible();
      releaseSender();
      if (!handOver) signOff();
    }, settings.hiddenGraceMs);
  } else {
    // Visible again: the user is here now.
    if (hb.sender) schedule(0);
    else acquireSender();
  }
}

function onPageHide(event) {
  if (!hb.running || event.persisted) {
    // A page kept in the back/forward cache may come back; it signs off only when really leaving.
    if (hb.running) announce("bye");
    return;
  }
  announce("bye");
  if (!anotherTabVisible()) signOff();
}

function onPageShow(event) {
  if (event.persisted && hb.running) { announce("hello"); onVisibilityChange(); }
}

export const heartbeat = {
  /** Starts heartbeats for the token's user (`role`: "therapist" or "community"); idempotent for the same token and role. */
  start(token, role) {
    if (!token) throw new Error("heartbeat.start needs the user's token.");
    roleSegment(role);
    if (hb.running && hb.token === token && hb.role === role) return;
    if (hb.running) heartbeat.stop({ signOff: false });
    Object.assign(hb, { running: true, token, role, signedOff: false, failures: 0, intervalMs: settings.defaultIntervalMs });
    hb.key = `presence:heartbeat:${roleSegment(role)}:${subjectOf(token) ?? token.slice(-16)}`;
    if (typeof BroadcastChannel !== "undefined") {
      hb.channel = new BroadcastChannel(hb.key);
      hb.channel.onmessage = onPeerMessage;
      announce("hello");
    }
    document.addEventListener("visibilitychange", onVisibilityChange);
    window.addEventListener("pagehide", onPageHide);
    window.addEventListener("pageshow", onPageShow);
    if (!isHidden()) acquireSender();
  },

  /** Stops heartbeats; signs off (logout) unless `{ signOff: false }`. */
  stop({ signOff: doSignOff = true } = {}) {
    if (!hb.running) return;
    if (doSignOff) signOff();
    announce("bye");
    hb.running = false;
    releaseSender();
    clearTimeout(hb.hiddenTimer);
    hb.channel?.close();
    hb.channel = null;
    hb.peers.clear();
    document.removeEventListener("visibilitychange", onVisibilityChange);
    window.removeEventListener("pagehide", onPageHide);
    window.removeEventListener("pageshow", onPageShow);
    hb.token = null;
    hb.role = null;
  },

  isRunning: () => hb.running,
  currentRole: () => hb.role,
  /** True in the one tab of this user that sends. */
  isSender: () => hb.running && hb.sender,
  intervalMs: () => hb.intervalMs,
  lastEvent: () => hb.last,
  /** `cb({outcome, status, transport, nextDelayMs, ack?, error?})` after every attempt; returns an unsubscribe function. */
  onEvent(cb) { hb.listeners.add(cb); return () => hb.listeners.delete(cb); },
};

// ---------------------------------------------------------------------------------------------- realtime

const rt = {
  connection: null,
  token: null,
  state: "disconnected",
  stopped: true,
  attempts: 0,
  connecting: null,
  join: null,
  watchAll: false,
  watched: new Set(),
  statuses: new Map(),
  changeListeners: new Set(),
  snapshotListeners: new Set(),
  stateListeners: new Set(),
  restartTimer: null,
};

let signalRLoading = null;

/** The official @microsoft/signalr browser bundle: configured, already on the page, or loaded from signalRUrl. */
function loadSignalR() {
  if (settings.signalR) return Promise.resolve(settings.signalR);
  if (globalThis.signalR) return Promise.resolve(globalThis.signalR);
  signalRLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = settings.signalRUrl;
    script.onload = () => (globalThis.signalR ? resolve(globalThis.signalR) : reject(missing()));
    script.onerror = () => { signalRLoading = null; reject(missing()); };
    document.head.append(script);
  });
  return signalRLoading;
}

function missing() {
  const error = new Error("The SignalR client (@microsoft/signalr) is not available.");
  error.code = "signalr-missing";
  return error;
}

function setState(state, detail) {
  rt.state = state;
  for (const listener of rt.stateListeners) {
    try { listener(state, detail); } catch { /* ignore */ }
  }
}

function applySnapshot(snapshot) {
  if (!snapshot || !Array.isArray(snapshot.entries)) return;
  for (const entry of snapshot.entries) rt.statuses.set(`${entry.role}:${entry.id}`, entry);
  for (const listener of rt.snapshotListeners) {
    try { listener(snapshot); } catch { /* ignore */ }
  }
}

function applyChange(change) {
  if (!change || typeof change.id !== "string") return;
  const key = `${change.role}:${change.id}`;
  const entry = { ...(rt.statuses.get(key) || { role: change.role, id: change.id, available: false }) };
  if (change.status === "available" || change.status === "unavailable") entry.available = change.status === "available";
  else entry.status = change.status;
  if (change.lastActive) entry.lastActive = change.lastActive;
  rt.statuses.set(key, entry);
  for (const listener of rt.changeListeners) {
    try { listener(change); } catch { /* ignore */ }
  }
}

/** What was joined and watched, done again on every (re)connect. */
async function restore() {
  const connection = rt.connection;
  if (rt.join) await connection.invoke(rt.join.method, ...rt.join.args);
  if (rt.watchAll) applySnapshot(await connection.invoke("watchTherapists"));
  if (rt.watched.size > 0) applySnapshot(await connection.invoke("watch", [...rt.watched]));
}

async function startConnection() {
  while (!rt.stopped) {
    try {
      setState("connecting", { attempt: rt.attempts });
      await rt.connection.start();
      rt.attempts = 0;
      await restore();
      setState("connected");
      return;
    } catch (error) {
      if (rt.stopped) return;
      const delay = jitteredDelay(rt.attempts++);
      setState("retrying", { error: String(error), delayMs: delay });
      if (rt.connection.state !== "Disconnected") await rt.connection.stop().catch(() => { });
      await new Promise((resolve) => { rt.restartTimer = setTimeout(resolve, delay); });
    }
  }
}

function invokeWhenConnected(method, ...args) {
  return realtime.isConnected() ? rt.connection.invoke(method, ...args) : Promise.resolve(null);
}

export const realtime = {
  /**
   * Connects to the gateway hub (anonymous without a token: may only watch therapists) and resolves once connected;
   * failed attempts are retried with jittered delays (state "retrying"). Rejects with `code: "signalr-missing"`
   * when the SignalR client cannot be loaded.
   */
  async connect(token) {
    if (rt.connection && !rt.stopped && rt.token === (token ?? null)) return rt.connecting;
    if (rt.connection) await realtime.disconnect();
    const signalR = await loadSignalR();
    rt.token = token ?? null;
    rt.stopped = false;
    rt.attempts = 0;
    const options = rt.token ? { accessTokenFactory: () => rt.token } : {};
    const level = { none: signalR.LogLevel.None, error: signalR.LogLevel.Error, info: signalR.LogLevel.Information }[settings.logLevel] ?? signalR.LogLevel.None;
    const connection = new signalR.HubConnectionBuilder()
      .withUrl(settings.gatewayUrl, options)
      .withAutomaticReconnect(jitteredRetryPolicy)
      .configureLogging(level)
      .build();
    rt.connection = connection;
    connection.on("presence-changed", applyChange);
    connection.on("heartbeat-ack", () => { });
    connection.onreconnecting((error) => setState("reconnecting", { error: error ? String(error) : null }));
    connection.onreconnected(async () => {
      try {
        await restore();
        setState("connected", { reconnected: true });
      } catch (error) {
        setState("reconnecting", { error: String(error) });
        await connection.stop().catch(() => { });
      }
    });
    // The automatic reconnect gave up, or the server closed without allowing one: start over, jittered.
    connection.onclose(() => {
      if (rt.stopped || rt.connection !== connection) return;
      setState("disconnected");
      rt.connecting = startConnection();
    });
    rt.connecting = startConnection();
    return rt.connecting;
  },

  async disconnect() {
    rt.stopped = true;
    clearTimeout(rt.restartTimer);
    const connection = rt.connection;
    rt.connection = null;
    if (connection) await connection.stop().catch(() => { });
    setState("disconnected");
  },

  /** Joins as the token's therapist (its `sub` unless `therapistId` is given); repeated after every reconnect. */
  joinAsTherapist({ therapistId, specialties = [], available } = {}) {
    const body = { therapistId: therapistId ?? subjectOf(rt.token ?? ""), specialties };
    rt.join = { method: "joinAsTherapist", args: [body] };
    return invokeWhenConnected("joinAsTherapist", available === undefined ? body : { ...body, available });
  },

  joinAsUser() {
    rt.join = { method: "joinAsUser", args: [] };
    return invokeWhenConnected("joinAsUser");
  },

  /** Every therapist's transitions; resolves with the snapshot (null when not connected yet: it comes with the connect). */
  async watchTherapists() {
    rt.watchAll = true;
    const snapshot = await invokeWhenConnected("watchTherapists");
    applySnapshot(snapshot);
    return snapshot;
  },

  /** These therapists' transitions. */
  async watch(ids) {
    for (const id of ids) rt.watched.add(id);
    const snapshot = await invokeWhenConnected("watch", [...ids]);
    applySnapshot(snapshot);
    return snapshot;
  },

  async unwatch(ids) {
    for (const id of ids) rt.watched.delete(id);
    await invokeWhenConnected("unwatch", [...ids]);
  },

  /** `cb({role, id, status, lastActive})` for every push; returns an unsubscribe function. */
  onPresenceChanged(cb) { rt.changeListeners.add(cb); return () => rt.changeListeners.delete(cb); },
  /** `cb({generatedAt, entries})` after each watch and after every reconnect: replace what may have been missed. */
  onSnapshot(cb) { rt.snapshotListeners.add(cb); return () => rt.snapshotListeners.delete(cb); },
  /** `cb(state, detail)`: connecting, connected, retrying, reconnecting, disconnected. */
  onStateChanged(cb) { rt.stateListeners.add(cb); return () => rt.stateListeners.delete(cb); },
  state: () => rt.state,
  isConnected: () => Boolean(rt.connection) && rt.connection.state === "Connected" && rt.state === "connected",
  /** The last known status of each watched user, keyed `role:id` (snapshots and pushes applied). */
  statuses: () => new Map(rt.statuses),
};

export default { configure, heartbeat, realtime, jitteredDelay, jitteredRetryPolicy };
