import type { Role } from "./types.js";

/** Client settings; `configure` changes them. Nothing here is read at import time but the defaults. */
export interface PresenceSettings {
  /** Where heartbeat-api is reached ("" = this origin): `${heartbeatBaseUrl}/v1/therapists/heartbeat`. */
  heartbeatBaseUrl: string;
  /** Where status-query is reached ("" = this origin): the board and lookups. */
  statusBaseUrl: string;
  /** The hub's URL. */
  gatewayUrl: string;
  /** Never two REST heartbeats closer than this (the server's min interval). */
  minIntervalMs: number;
  /** Until the server advertises one. */
  defaultIntervalMs: number;
  /** The longest interval obeyed, whatever the server says. */
  maxIntervalMs: number;
  /** A page hidden this long stops sending and signs off (unless another tab of the user is visible). */
  hiddenGraceMs: number;
  /** The first reconnect attempt is spread over [0, this). */
  firstRetryWindowMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** The board is polled this often (the live pushes apply in between). */
  boardPollMs: number;
  /** SignalR's log level. */
  logLevel: "none" | "error" | "info";
}

export interface ConfigureOptions extends Partial<PresenceSettings> {
  /**
   * The backend's API base as a frontend knows it (e.g. `NEXT_PUBLIC_BACKEND_URL=http://localhost:3001/v1`): sets the
   * heartbeat and status bases to its origin (and path, without `/v1`) and the hub to `${base}/hubs/presence`.
   */
  backendUrl?: string;
}

const defaults: PresenceSettings = {
  heartbeatBaseUrl: "",
  statusBaseUrl: "",
  gatewayUrl: "/hubs/presence",
  minIntervalMs: 10_000,
  defaultIntervalMs: 30_000,
  maxIntervalMs: 300_000,
  hiddenGraceMs: 60_000,
  firstRetryWindowMs: 2_000,
  retryBaseMs: 1_000,
  retryMaxMs: 30_000,
  boardPollMs: 30_000,
  logLevel: "none",
};

export const settings: PresenceSettings = { ...defaults };

/** Overrides settings (base URLs, intervals, grace period); answers the settings now in force. */
export function configure(options: ConfigureOptions = {}): PresenceSettings {
  const { backendUrl, ...rest } = options;
  if (backendUrl !== undefined) {
    const base = backendUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
    Object.assign(settings, { heartbeatBaseUrl: base, statusBaseUrl: base, gatewayUrl: `${base}/hubs/presence` });
  }
  Object.assign(settings, rest);
  return { ...settings };
}

/** Back to the defaults (tests). */
export function resetSettings(): void {
  Object.assign(settings, defaults);
}

const SEGMENTS: Record<string, string> = { therapist: "therapists", community: "community", user: "community" };

/** The REST path segment of a role: `therapists` or `community`. Throws on anything else. */
export function roleSegment(role: Role | string): string {
  const segment = SEGMENTS[role];
  if (!segment) throw new Error(`Unknown role '${role}': use "therapist" or "community".`);
  return segment;
}

export const joinUrl = (base: string, path: string): string => `${String(base).replace(/\/$/, "")}${path}`;
