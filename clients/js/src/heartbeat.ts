import { joinUrl, roleSegment, settings } from "./config.js";
import { realtime } from "./realtime.js";
import type { HeartbeatAck, HeartbeatEvent, Role, TokenSource } from "./types.js";
import { DEVICE_HEADER, deviceId, heartbeatBody, jitteredDelay, listen, notify, pageHidden, resolveToken, retryAfterMs, subjectOf } from "./util.js";

// Heartbeats go over REST; while `realtime` is connected for the same user, its connection heartbeats instead. Every
// answer's `nextHeartbeatSeconds` sets the next delay; 429/503 wait for `Retry-After`. One tab per user sends (a Web
// Lock elects it; the last send time is shared in localStorage so a new sender keeps the min interval too). A page
// hidden longer than the grace period, or closed, signs off with a keepalive fetch unless another tab of the user is
// still visible; visible again sends at once. The token is asked of its provider for every request.

const hasDocument = (): boolean => typeof document !== "undefined";
const isHidden = pageHidden;
const tabId = (): string => (hb.tab ??= Math.random().toString(36).slice(2));

const hb = {
  running: false,
  source: null as TokenSource | null,
  /** The last token the provider gave: a sign-off on pagehide cannot wait for a provider. */
  lastToken: null as string | null,
  user: null as string | null,
  role: null as Role | null,
  key: null as string | null,
  tab: null as string | null,
  sender: false,
  releaseLock: null as (() => void) | null,
  lockAbort: null as AbortController | null,
  timer: undefined as ReturnType<typeof setTimeout> | undefined,
  hiddenTimer: undefined as ReturnType<typeof setTimeout> | undefined,
  intervalMs: settings.defaultIntervalMs,
  failures: 0,
  signedOff: false,
  channel: null as BroadcastChannel | null,
  peers: new Map<string, { visible: boolean }>(),
  last: null as HeartbeatEvent | null,
  listeners: new Set<(event: HeartbeatEvent) => void>(),
  generation: 0,
};

function emit(event: HeartbeatEvent): void {
  hb.last = event;
  notify(hb.listeners, event);
}

function lastSentAt(): number {
  try {
    return Number(localStorage.getItem(`${hb.key}:lastSent`) || 0);
  } catch {
    return 0;
  }
}

function markSent(): void {
  try {
    localStorage.setItem(`${hb.key}:lastSent`, String(Date.now()));
  } catch {
    /* storage off: per tab only */
  }
}

function schedule(delayMs: number): void {
  clearTimeout(hb.timer);
  if (!hb.running || !hb.sender) return;
  hb.timer = setTimeout(beat, Math.max(0, delayMs));
}

async function currentToken(): Promise<string | null> {
  const token = await resolveToken(hb.source);
  if (token) {
    hb.lastToken = token;
    hb.user = subjectOf(token) ?? hb.user;
  }
  return token;
}

async function beat(): Promise<void> {
  if (!hb.running || !hb.sender) return;
  if (hb.signedOff && isHidden()) return;
  const generation = hb.generation;
  if (realtime.heartbeatsFor(hb.user)) {
    // The hub connection of this user heartbeats by itself; look again after an interval.
    emit({ outcome: "via-hub", transport: "hub", nextDelayMs: hb.intervalMs });
    hb.signedOff = false;
    schedule(hb.intervalMs);
    return;
  }
  const since = Date.now() - lastSentAt();
  // Another tab (or this one) sent less than the min interval ago: the server would refuse it.
  if (since < settings.minIntervalMs) {
    schedule(settings.minIntervalMs - since);
    return;
  }
  try {
    const token = await currentToken();
    if (generation !== hb.generation || !hb.running) return;
    if (!token) throw new Error("the token provider gave no token");
    markSent();
    const response = await fetch(joinUrl(settings.heartbeatBaseUrl, `/v1/${roleSegment(hb.role!)}/heartbeat`), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", [DEVICE_HEADER]: deviceId() },
      body: JSON.stringify(heartbeatBody({ deviceId: deviceId() })),
      cache: "no-store",
    });
    // Again on the answer: the server stamped the heartbeat somewhere between send and answer, so the min interval
    // counted from here never undercuts the server's (which would turn a takeover into a 429).
    markSent();
    if (generation !== hb.generation) return;
    if (response.status === 429 || response.status === 503) {
      const wait = retryAfterMs(response.headers, settings.minIntervalMs);
      emit({ outcome: response.status === 429 ? "throttled" : "unavailable", status: response.status, transport: "rest", nextDelayMs: wait });
      schedule(wait);
      return;
    }
    if (!response.ok) {
      // 401 included: the next attempt asks the provider again, so a refreshed token carries on.
      emit({ outcome: "refused", status: response.status, transport: "rest", nextDelayMs: hb.intervalMs });
      schedule(hb.intervalMs);
      return;
    }
    const ack = (await response.json()) as HeartbeatAck;
    hb.failures = 0;
    hb.signedOff = false;
    const advertised = Math.max(1, Number(ack?.nextHeartbeatSeconds) || hb.intervalMs / 1000) * 1000;
    hb.intervalMs = Math.min(settings.maxIntervalMs, Math.max(settings.minIntervalMs, advertised));
    emit({ outcome: "accepted", status: 200, transport: "rest", ack, nextDelayMs: hb.intervalMs });
    schedule(hb.intervalMs);
  } catch (error) {
    if (generation !== hb.generation) return;
    const wait = Math.min(hb.intervalMs, jitteredDelay(++hb.failures));
    emit({ outcome: "failed", error: String(error), transport: "rest", nextDelayMs: wait });
    schedule(wait);
  }
}

function anotherTabVisible(): boolean {
  for (const peer of hb.peers.values()) if (peer.visible) return true;
  return false;
}

function signOff(): void {
  const token = hb.lastToken ?? (typeof hb.source === "string" ? hb.source : null);
  if (!token || !hb.role || hb.signedOff) return;
  hb.signedOff = true;
  emit({ outcome: "signed-off", transport: "rest" });
  // keepalive: the request outlives the page (pagehide, tab closed).
  fetch(joinUrl(settings.heartbeatBaseUrl, `/v1/${roleSegment(hb.role)}/offline`), {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, [DEVICE_HEADER]: deviceId() },
    keepalive: true,
  }).catch(() => {
    /* the online window ends it anyway */
  });
}

function announce(type: "hello" | "state" | "bye"): void {
  hb.channel?.postMessage({ type, tab: tabId(), visible: !isHidden() && hb.running });
}

function onPeerMessage(event: MessageEvent): void {
  const { type, tab, visible } = (event.data || {}) as { type?: string; tab?: string; visible?: boolean };
  if (!tab || tab === tabId()) return;
  if (type === "bye") hb.peers.delete(tab);
  else hb.peers.set(tab, { visible: Boolean(visible) });
  if (type === "hello") announce("state");
}

function acquireSender(): void {
  if (hb.sender || hb.lockAbort) return;
  const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
  if (!locks) {
    hb.sender = true;
    schedule(0);
    return;
  }
  const abort = new AbortController();
  hb.lockAbort = abort;
  locks.request(hb.key!, { signal: abort.signal }, () => new Promise<void>((release) => {
    hb.lockAbort = null;
    if (!hb.running) {
      release();
      return;
    }
    hb.sender = true;
    hb.releaseLock = release;
    emit({ outcome: "elected", transport: "none" });
    schedule(0);
  })).catch(() => {
    if (hb.lockAbort === abort) hb.lockAbort = null;
  });
}

function releaseSender(): void {
  hb.lockAbort?.abort();
  hb.lockAbort = null;
  hb.sender = false;
  clearTimeout(hb.timer);
  const release = hb.releaseLock;
  hb.releaseLock = null;
  release?.();
}

function onVisibilityChange(): void {
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
  } else if (hb.sender) {
    // Visible again: the user is here now.
    schedule(0);
  } else {
    acquireSender();
  }
}

function onPageHide(event: PageTransitionEvent): void {
  if (!hb.running || event.persisted) {
    // A page kept in the back/forward cache may come back; it signs off only when really leaving.
    if (hb.running) announce("bye");
    return;
  }
  announce("bye");
  if (!anotherTabVisible()) signOff();
}

function onPageShow(event: PageTransitionEvent): void {
  if (event.persisted && hb.running) {
    announce("hello");
    onVisibilityChange();
  }
}

function stopNow(doSignOff: boolean): void {
  if (!hb.running) return;
  if (doSignOff) signOff();
  announce("bye");
  hb.running = false;
  hb.generation++;
  releaseSender();
  clearTimeout(hb.hiddenTimer);
  hb.channel?.close();
  hb.channel = null;
  hb.peers.clear();
  if (hasDocument()) {
    document.removeEventListener("visibilitychange", onVisibilityChange);
    window.removeEventListener("pagehide", onPageHide);
    window.removeEventListener("pageshow", onPageShow);
  }
  hb.source = null;
  hb.lastToken = null;
  hb.user = null;
  hb.role = null;
}

export const heartbeat = {
  /**
   * Starts heartbeats for the token's user (`role`: "therapist" or "community"). `token` is a token or a provider
   * (`() => Promise<string>`) asked for every request. Called again for the same user and role it only swaps the token
   * source: a token refresh never signs the user off. Resolves once the user is known.
   */
  async start(token: TokenSource, role: Role): Promise<void> {
    if (!token) throw new Error("heartbeat.start needs the user's token or a token provider.");
    const segment = roleSegment(role);
    const first = typeof token === "string" ? token : null;
    if (hb.running && hb.role === role) {
      const user = first ? subjectOf(first) : hb.user;
      if (user === hb.user && (user !== null || first === null)) {
        hb.source = token;
        if (first) hb.lastToken = first;
        return;
      }
    }
    if (hb.running) stopNow(false);
    const generation = ++hb.generation;
    Object.assign(hb, { running: true, source: token, role, signedOff: false, failures: 0, intervalMs: settings.defaultIntervalMs, lastToken: null, user: null });
    const resolved = await currentToken().catch(() => null);
    if (generation !== hb.generation) return;
    hb.key = `presence:heartbeat:${segment}:${hb.user ?? resolved?.slice(-16) ?? "anonymous"}`;
    if (typeof BroadcastChannel !== "undefined") {
      hb.channel = new BroadcastChannel(hb.key);
      hb.channel.onmessage = onPeerMessage;
      announce("hello");
    }
    if (hasDocument()) {
      document.addEventListener("visibilitychange", onVisibilityChange);
      window.addEventListener("pagehide", onPageHide);
      window.addEventListener("pageshow", onPageShow);
    }
    if (!isHidden()) acquireSender();
  },

  /** Stops heartbeats; signs off (logout) unless `{ signOff: false }`. */
  stop({ signOff: doSignOff = true }: { signOff?: boolean } = {}): void {
    stopNow(doSignOff);
  },

  isRunning: (): boolean => hb.running,
  currentRole: (): Role | null => hb.role,
  /** The role heartbeats are sent for (the original heartbeat service's name for `currentRole`). */
  getCurrentUserType: (): Role | null => hb.role,
  /** True in the one tab of this user that sends. */
  isSender: (): boolean => hb.running && hb.sender,
  intervalMs: (): number => hb.intervalMs,
  lastEvent: (): HeartbeatEvent | null => hb.last,
  /** `cb({outcome, status, transport, nextDelayMs, ack?, error?})` after every attempt; returns an unsubscribe function. */
  onEvent: (cb: (event: HeartbeatEvent) => void): (() => void) => listen(hb.listeners, cb),
};
