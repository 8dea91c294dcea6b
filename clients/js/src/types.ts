/** The two roles; the REST path segment of each is in `roleSegment`. */
export type Role = "therapist" | "community";

/** The bucket a user is in (docs/architecture.md, "The model"). */
export type PresenceStatus = "online" | "recent" | "offline";

/** Why a transition was emitted. */
export type PresenceReason =
  | "heartbeat" | "join" | "signoff" | "timeout" | "lost-instance" | "window-ended" | "set" | "expired";

/**
 * One user's presence as the `presence-changed` hub message carries it (docs/hub.md). Clients keep the highest
 * `ver` per user and drop older events; an event without `ver` counts as version 0.
 */
export interface PresenceState {
  role: Role;
  id: string;
  ver: number;
  /** When the transition happened (ISO 8601). */
  at?: string;
  status: PresenceStatus;
  available: boolean;
  /** When "accepting sessions" lapses (ISO 8601), or null/absent when it does not. */
  availableUntil?: string | null;
  lastActive?: string | null;
  reason?: PresenceReason;
}

/**
 * A `presence-changed` message as received. Besides the state above, older gateways send
 * `status: "available" | "unavailable"` (only the flag changed) and no `ver`; both are accepted.
 */
export interface PresenceChange extends Omit<PresenceState, "ver" | "status" | "available"> {
  ver?: number;
  status: PresenceStatus | "available" | "unavailable";
  available?: boolean;
}

/** What `watch`, `watchTherapists` and `watchCommunity` answer. */
export interface PresenceSnapshot {
  generatedAt: string;
  entries: Array<{
    role: Role;
    id: string;
    status: PresenceStatus | "available";
    available: boolean;
    lastActive?: string | null;
    ver?: number;
    availableUntil?: string | null;
  }>;
}

/** Hub message `preferred-online`: a therapist on the user's watchlist became online or available. */
export interface PreferredOnline {
  type: "preferred-online";
  therapistId: string;
  userId: string;
  status: "online" | "available";
  at: number;
  ver: number;
}

/** The answer to a heartbeat, REST (`200`) or hub (`heartbeat-ack`). */
export interface HeartbeatAck {
  accepted?: boolean;
  serverTime: string;
  nextHeartbeatSeconds: number;
  clockSkewSeconds?: number;
}

/** One therapist on the board (`GET /v1/therapists/status/realtime`). */
export interface BoardTherapist {
  id: string;
  status: "online" | "recent" | "available";
  available: boolean;
  availableUntil?: string | null;
  lastActive: string | null;
  lastActiveAgo: string | null;
  ver?: number;
}

/** The board answer. */
export interface Board {
  generatedAt: string;
  thresholds: { onlineSeconds: number; recentSeconds: number };
  counts: { online: number; recent: number; available: number };
  therapists: BoardTherapist[];
}

/** A bearer token, or a function that returns a fresh one (called for every request and every reconnect). */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>);

/** What happened to one heartbeat attempt, for `heartbeat.onEvent`. */
export interface HeartbeatEvent {
  outcome: "accepted" | "throttled" | "unavailable" | "refused" | "failed" | "signed-off" | "elected" | "via-hub";
  transport: "rest" | "hub" | "none";
  status?: number;
  nextDelayMs?: number;
  ack?: HeartbeatAck;
  error?: string;
}

/** The hub connection's life: connecting, connected, retrying (failed to start), reconnecting, disconnected. */
export type ConnectionState = "connecting" | "connected" | "retrying" | "reconnecting" | "disconnected";
