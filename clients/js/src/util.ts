import { settings } from "./config.js";
import type { TokenSource } from "./types.js";

/**
 * Delay before reconnect attempt `previousRetries + 1`: the first spread over [0, firstRetryWindowMs), then exponential
 * with equal jitter (half fixed, half random) up to retryMaxMs. The .NET client's JitteredRetryPolicy uses the same rule.
 */
export function jitteredDelay(previousRetries: number, random: () => number = Math.random): number {
  if (previousRetries <= 0) return Math.floor(settings.firstRetryWindowMs * random());
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.min(previousRetries, 20));
  return Math.floor(ceiling / 2 + (ceiling / 2) * random());
}

/** A SignalR IRetryPolicy with jittered delays that never gives up. */
export const jitteredRetryPolicy = {
  nextRetryDelayInMilliseconds: (context: { previousRetryCount: number }): number => jitteredDelay(context.previousRetryCount),
};

/** The `sub` claim of a JWT, or null when it is not one (the token is never verified here). */
export function subjectOf(token: string | null | undefined): string | null {
  if (!token) return null;
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(payload + "===".slice((payload.length + 3) % 4))) as { sub?: unknown };
    return typeof json.sub === "string" ? json.sub : null;
  } catch {
    return null;
  }
}

/** The wait a 429/503 asks for (`Retry-After`, seconds or an HTTP date), at least 1 s; `fallbackMs` without one. */
export function retryAfterMs(headers: { get(name: string): string | null }, fallbackMs: number, now: number = Date.now()): number {
  const header = headers.get("Retry-After");
  if (!header) return fallbackMs;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(1000, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(1000, date - now) : fallbackMs;
}

/** The current token of a source: the string itself, or what the provider answers now. */
export async function resolveToken(source: TokenSource | null | undefined): Promise<string | null> {
  if (source == null) return null;
  const token = typeof source === "function" ? await source() : source;
  return token || null;
}

const DEVICE_KEY = "presence:device";
let memoryDevice: string | null = null;

function newId(): string {
  const c = globalThis.crypto as Crypto | undefined;
  return c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

/**
 * This browser's device id, sent with REST heartbeats and sign-off (`X-Presence-Device`) so the server counts one
 * session per browser: generated once, kept in localStorage, so a reload or another tab is the same session.
 */
export function deviceId(): string {
  try {
    const stored = globalThis.localStorage?.getItem(DEVICE_KEY);
    if (stored) return stored;
    const id = newId();
    globalThis.localStorage?.setItem(DEVICE_KEY, id);
    if (globalThis.localStorage) return id;
  } catch {
    /* storage off: one id for this page's life */
  }
  memoryDevice ??= newId();
  return memoryDevice;
}

export const DEVICE_HEADER = "X-Presence-Device";

/** True while the page is hidden (a background tab): heartbeats then say `visible: false`. */
export function pageHidden(): boolean {
  return typeof document !== "undefined" && document.visibilityState === "hidden";
}

/**
 * The heartbeat body over REST and the hub. A hidden page says so, and the server then advertises a longer interval
 * (docs/engagement.md, "Adaptive heartbeat interval").
 */
export function heartbeatBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const body: Record<string, unknown> = { timestamp: new Date().toISOString(), ...extra };
  if (pageHidden()) body.visible = false;
  return body;
}

/** Adds `cb` to `listeners`; returns the function that removes it again. */
export function listen<L>(listeners: Set<L>, cb: L): () => void {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

/** Calls each listener, keeping one listener's error its own. */
export function notify<A extends unknown[]>(listeners: Iterable<(...args: A) => void>, ...args: A): void {
  for (const listener of listeners) {
    try {
      listener(...args);
    } catch {
      /* a listener's error is its own */
    }
  }
}
