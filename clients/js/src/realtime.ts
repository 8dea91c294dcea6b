import { HubConnectionBuilder, HubConnectionState, LogLevel, type HubConnection } from "@microsoft/signalr";
import { settings } from "./config.js";
import { PresenceStore } from "./store.js";
import type { ConnectionState, HeartbeatAck, PreferredOnline, PresenceChange, PresenceSnapshot, TokenSource } from "./types.js";
import { heartbeatBody, jitteredDelay, jitteredRetryPolicy, listen, notify, resolveToken, subjectOf } from "./util.js";

/** Hub method and message names (docs/hub.md). */
export const HubMethods = {
  heartbeat: "heartbeat",
  joinAsTherapist: "joinAsTherapist",
  joinAsUser: "joinAsUser",
  watchTherapists: "watchTherapists",
  unwatchTherapists: "unwatchTherapists",
  watch: "watch",
  unwatch: "unwatch",
  watchCommunity: "watchCommunity",
  unwatchCommunity: "unwatchCommunity",
} as const;

export const HubMessages = {
  presenceChanged: "presence-changed",
  heartbeatAck: "heartbeat-ack",
  preferredOnline: "preferred-online",
} as const;

type Join = { method: "joinAsTherapist" | "joinAsUser"; args: unknown[] };

const rt = {
  connection: null as HubConnection | null,
  source: null as TokenSource | null,
  /** The `sub` of the last token handed to the hub. */
  user: null as string | null,
  state: "disconnected" as ConnectionState,
  stopped: true,
  attempts: 0,
  connecting: null as Promise<void> | null,
  join: null as Join | null,
  watchAll: false,
  watched: new Set<string>(),
  changeListeners: new Set<(change: PresenceChange) => void>(),
  snapshotListeners: new Set<(snapshot: PresenceSnapshot) => void>(),
  stateListeners: new Set<(state: ConnectionState, detail?: Record<string, unknown>) => void>(),
  ackListeners: new Set<(ack: HeartbeatAck) => void>(),
  noteListeners: new Set<(note: PreferredOnline) => void>(),
  restartTimer: undefined as ReturnType<typeof setTimeout> | undefined,
  beatTimer: undefined as ReturnType<typeof setTimeout> | undefined,
  beatFailures: 0,
};

/** Every status the hub told this page about, highest `ver` per user (snapshots and pushes applied). */
export const presenceStore = new PresenceStore();

function setState(state: ConnectionState, detail?: Record<string, unknown>): void {
  rt.state = state;
  notify(rt.stateListeners, state, detail);
}

function applySnapshot(snapshot: PresenceSnapshot | null | undefined): void {
  if (!snapshot || !Array.isArray(snapshot.entries)) return;
  presenceStore.applySnapshot(snapshot);
  notify(rt.snapshotListeners, snapshot);
}

function applyChange(change: PresenceChange): void {
  // Older than what is known (another replica's late push): dropped, never shown.
  if (!presenceStore.apply(change)) return;
  notify(rt.changeListeners, change);
}

// ------------------------------------------------------------------ the connection's own heartbeat

function stopBeating(): void {
  clearTimeout(rt.beatTimer);
  rt.beatTimer = undefined;
}

function scheduleBeat(delayMs: number): void {
  stopBeating();
  if (rt.stopped || !rt.source) return;
  rt.beatTimer = setTimeout(hubBeat, Math.max(0, delayMs));
}

function onAck(ack: HeartbeatAck | null | undefined): void {
  if (!ack) return;
  rt.beatFailures = 0;
  notify(rt.ackListeners, ack);
  const seconds = Math.max(1, Number(ack.nextHeartbeatSeconds) || settings.defaultIntervalMs / 1000);
  scheduleBeat(Math.min(settings.maxIntervalMs, seconds * 1000));
}

/** While connected with a token, the connection heartbeats by itself at the server's interval (docs/clients.md). */
async function hubBeat(): Promise<void> {
  const connection = rt.connection;
  if (!connection || rt.stopped || !rt.source || connection.state !== HubConnectionState.Connected) return;
  try {
    onAck(await connection.invoke<HeartbeatAck>(HubMethods.heartbeat, heartbeatBody()));
  } catch {
    if (rt.connection === connection && !rt.stopped) scheduleBeat(Math.min(settings.defaultIntervalMs, jitteredDelay(++rt.beatFailures)));
  }
}

/** What was joined and watched, done again on every (re)connect; then the heartbeat goes on. */
async function restore(): Promise<void> {
  const connection = rt.connection;
  if (!connection) return;
  let ack: HeartbeatAck | null = null;
  if (rt.join) ack = await connection.invoke<HeartbeatAck>(rt.join.method, ...rt.join.args);
  if (rt.watchAll) applySnapshot(await connection.invoke<PresenceSnapshot>(HubMethods.watchTherapists));
  if (rt.watched.size > 0) applySnapshot(await connection.invoke<PresenceSnapshot>(HubMethods.watch, [...rt.watched]));
  if (rt.source) {
    if (ack) onAck(ack);
    else scheduleBeat(0);
  }
}

async function startConnection(): Promise<void> {
  while (!rt.stopped && rt.connection) {
    const connection = rt.connection;
    try {
      setState("connecting", { attempt: rt.attempts });
      await connection.start();
      rt.attempts = 0;
      await restore();
      setState("connected");
      return;
    } catch (error) {
      if (rt.stopped || rt.connection !== connection) return;
      const delay = jitteredDelay(rt.attempts++);
      setState("retrying", { error: String(error), delayMs: delay });
      if (connection.state !== HubConnectionState.Disconnected) await connection.stop().catch(() => {});
      await new Promise<void>((resolve) => {
        rt.restartTimer = setTimeout(resolve, delay);
      });
    }
  }
}

function invokeWhenConnected<T>(method: string, ...args: unknown[]): Promise<T | null> {
  return realtime.isConnected() && rt.connection ? rt.connection.invoke<T>(method, ...args) : Promise.resolve(null);
}

function sameSource(a: TokenSource | null, b: TokenSource | null): boolean {
  return a === b;
}

export const realtime = {
  /**
   * Connects to the gateway hub and resolves once connected; failed attempts are retried with jittered delays (state
   * "retrying"), for ever. `token` is a token or a provider called for every (re)connect, so a refreshed token is used
   * at once; without one the connection is anonymous and may only watch therapists. With a token the connection
   * heartbeats by itself while connected.
   */
  async connect(token?: TokenSource | null): Promise<void> {
    const source = token ?? null;
    if (rt.connection && !rt.stopped && sameSource(rt.source, source)) return rt.connecting ?? undefined;
    if (rt.connection) await realtime.disconnect();
    rt.source = source;
    rt.stopped = false;
    rt.attempts = 0;
    const level = { none: LogLevel.None, error: LogLevel.Error, info: LogLevel.Information }[settings.logLevel] ?? LogLevel.None;
    const options = source
      ? {
        accessTokenFactory: async () => {
          const current = await resolveToken(rt.source);
          rt.user = subjectOf(current);
          return current ?? "";
        },
      }
      : {};
    const connection = new HubConnectionBuilder()
      .withUrl(settings.gatewayUrl, options)
      .withAutomaticReconnect(jitteredRetryPolicy)
      .configureLogging(level)
      .build();
    rt.connection = connection;
    connection.on(HubMessages.presenceChanged, applyChange);
    connection.on(HubMessages.heartbeatAck, () => {});
    connection.on(HubMessages.preferredOnline, (note: PreferredOnline) => notify(rt.noteListeners, note));
    connection.onreconnecting((error) => {
      stopBeating();
      setState("reconnecting", { error: error ? String(error) : null });
    });
    connection.onreconnected(async () => {
      try {
        await restore();
        setState("connected", { reconnected: true });
      } catch (error) {
        setState("reconnecting", { error: String(error) });
        await connection.stop().catch(() => {});
      }
    });
    // The automatic reconnect gave up, or the server closed without allowing one (an expired token): start over,
    // jittered, with a fresh token from the provider.
    connection.onclose(() => {
      stopBeating();
      if (rt.stopped || rt.connection !== connection) return;
      setState("disconnected");
      rt.connecting = startConnection();
    });
    rt.connecting = startConnection();
    return rt.connecting;
  },

  async disconnect(): Promise<void> {
    rt.stopped = true;
    stopBeating();
    clearTimeout(rt.restartTimer);
    const connection = rt.connection;
    rt.connection = null;
    rt.user = null;
    if (connection) await connection.stop().catch(() => {});
    setState("disconnected");
  },

  /** Joins as the token's therapist (its `sub` unless `therapistId` is given); repeated after every reconnect. */
  async joinAsTherapist({ therapistId, specialties = [], available }: { therapistId?: string; specialties?: string[]; available?: boolean } = {}): Promise<HeartbeatAck | null> {
    const id = therapistId ?? rt.user ?? subjectOf(await resolveToken(rt.source));
    const body = { therapistId: id, specialties };
    rt.join = { method: "joinAsTherapist", args: [body] };
    const ack = await invokeWhenConnected<HeartbeatAck>(HubMethods.joinAsTherapist, available === undefined ? body : { ...body, available });
    if (ack) onAck(ack);
    return ack;
  },

  async joinAsUser(): Promise<HeartbeatAck | null> {
    rt.join = { method: "joinAsUser", args: [] };
    const ack = await invokeWhenConnected<HeartbeatAck>(HubMethods.joinAsUser);
    if (ack) onAck(ack);
    return ack;
  },

  /** Every therapist's transitions; resolves with the snapshot (null when not connected yet: it comes with the connect). */
  async watchTherapists(): Promise<PresenceSnapshot | null> {
    rt.watchAll = true;
    const snapshot = await invokeWhenConnected<PresenceSnapshot>(HubMethods.watchTherapists);
    applySnapshot(snapshot);
    return snapshot;
  },

  /** These therapists' transitions. */
  async watch(ids: readonly string[]): Promise<PresenceSnapshot | null> {
    for (const id of ids) rt.watched.add(id);
    const snapshot = await invokeWhenConnected<PresenceSnapshot>(HubMethods.watch, [...ids]);
    applySnapshot(snapshot);
    return snapshot;
  },

  async unwatch(ids: readonly string[]): Promise<void> {
    for (const id of ids) rt.watched.delete(id);
    await invokeWhenConnected(HubMethods.unwatch, [...ids]);
  },

  /** `cb(change)` for every push newer than what is known; returns an unsubscribe function. */
  onPresenceChanged: (cb: (change: PresenceChange) => void): (() => void) => listen(rt.changeListeners, cb),
  /** `cb({generatedAt, entries})` after each watch and after every reconnect: replace what may have been missed. */
  onSnapshot: (cb: (snapshot: PresenceSnapshot) => void): (() => void) => listen(rt.snapshotListeners, cb),
  /** `cb(state, detail)`: connecting, connected, retrying, reconnecting, disconnected. */
  onStateChanged: (cb: (state: ConnectionState, detail?: Record<string, unknown>) => void): (() => void) => listen(rt.stateListeners, cb),
  /** `cb({type, therapistId, userId, status, at, ver})` when a therapist on this user's watchlist became online or available. */
  onPreferredOnline: (cb: (note: PreferredOnline) => void): (() => void) => listen(rt.noteListeners, cb),
  /** `cb(ack)` after every heartbeat the connection sent (and every join). */
  onHeartbeatAck: (cb: (ack: HeartbeatAck) => void): (() => void) => listen(rt.ackListeners, cb),
  state: (): ConnectionState => rt.state,
  isConnected: (): boolean => Boolean(rt.connection) && rt.connection!.state === HubConnectionState.Connected && rt.state === "connected",
  /** True while connected with a token of this user: the connection heartbeats for it. */
  heartbeatsFor: (user: string | null): boolean => realtime.isConnected() && Boolean(rt.source) && user !== null && rt.user === user,
  /** The last known status of each watched user, keyed `role:id` (snapshots and pushes applied, highest `ver`). */
  statuses: (): Map<string, ReturnType<PresenceStore["getSnapshot"]> extends ReadonlyMap<string, infer S> ? S : never> =>
    new Map(presenceStore.getSnapshot()),
};
