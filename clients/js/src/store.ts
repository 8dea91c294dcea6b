import type { PresenceChange, PresenceSnapshot, PresenceState, Role } from "./types.js";

const key = (role: string, id: string): string => `${role}:${id}`;

/**
 * The last known presence of each user, keyed `role:id`, for `useSyncExternalStore`: the highest `ver` per user wins
 * (older and duplicate events are dropped; an event without `ver` counts as 0), and `getSnapshot()` answers the same
 * object until something changes, so React re-renders only on a real change.
 */
export class PresenceStore {
  #states = new Map<string, PresenceState>();
  #listeners = new Set<() => void>();
  #snapshot: ReadonlyMap<string, PresenceState> | null = null;
  #selections = new Map<string, { source: ReadonlyMap<string, PresenceState>; value: ReadonlyMap<string, PresenceState> }>();

  /** Applies one `presence-changed`; answers false when it was older than (or the same as) what is known. */
  apply(change: PresenceChange): boolean {
    if (!change || typeof change.id !== "string" || typeof change.role !== "string") return false;
    const k = key(change.role, change.id);
    const current = this.#states.get(k);
    const ver = typeof change.ver === "number" ? change.ver : 0;
    if (current && (ver < current.ver || (ver === current.ver && ver > 0))) return false;
    const next: PresenceState = {
      ...(current ?? { role: change.role as Role, id: change.id, status: "offline", available: false }),
      ver,
    };
    if (change.status === "available" || change.status === "unavailable") {
      // An older gateway's flag-only transition: the bucket did not change.
      next.available = change.status === "available";
    } else {
      next.status = change.status;
      if (typeof change.available === "boolean") next.available = change.available;
    }
    if (change.at !== undefined) next.at = change.at;
    if (change.availableUntil !== undefined) next.availableUntil = change.availableUntil;
    if (change.lastActive) next.lastActive = change.lastActive;
    if (change.reason !== undefined) next.reason = change.reason;
    this.#states.set(k, next);
    this.#changed();
    return true;
  }

  /**
   * Applies a watch snapshot (after every watch and reconnect it replaces what pushes may have missed). An entry with a
   * `ver` older than the known one is skipped; one without `ver` is a fresh read and is taken, keeping the known `ver`.
   */
  applySnapshot(snapshot: PresenceSnapshot | null | undefined): void {
    if (!snapshot || !Array.isArray(snapshot.entries)) return;
    let changed = false;
    for (const entry of snapshot.entries) {
      const k = key(entry.role, entry.id);
      const current = this.#states.get(k);
      if (current && typeof entry.ver === "number" && entry.ver < current.ver) continue;
      const next: PresenceState = {
        role: entry.role,
        id: entry.id,
        ver: typeof entry.ver === "number" ? entry.ver : (current?.ver ?? 0),
        status: entry.status === "available" ? "offline" : entry.status,
        available: entry.available,
        lastActive: entry.lastActive ?? current?.lastActive ?? null,
      };
      if (entry.availableUntil !== undefined) next.availableUntil = entry.availableUntil;
      if (current && same(current, next)) continue;
      this.#states.set(k, next);
      changed = true;
    }
    if (changed) this.#changed();
  }

  get(role: Role, id: string): PresenceState | undefined {
    return this.#states.get(key(role, id));
  }

  /** Every known user, keyed `role:id`; the same object until a change. */
  getSnapshot = (): ReadonlyMap<string, PresenceState> => {
    this.#snapshot ??= new Map(this.#states);
    return this.#snapshot;
  };

  /** These users only (keyed `role:id`); the same object for the same ids until one of them changes. */
  select(role: Role, ids: readonly string[]): ReadonlyMap<string, PresenceState> {
    const all = this.getSnapshot();
    const cacheKey = `${role}\u0000${ids.join("\u0000")}`;
    const cached = this.#selections.get(cacheKey);
    if (cached && cached.source === all) return cached.value;
    const value = new Map<string, PresenceState>();
    for (const id of ids) {
      const state = all.get(key(role, id));
      if (state) value.set(key(role, id), state);
    }
    if (cached && sameMap(cached.value, value)) {
      cached.source = all;
      return cached.value;
    }
    this.#selections.set(cacheKey, { source: all, value });
    return value;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  clear(): void {
    if (this.#states.size === 0) return;
    this.#states.clear();
    this.#changed();
  }

  #changed(): void {
    this.#snapshot = null;
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        /* a listener's error is its own */
      }
    }
  }
}

function same(a: PresenceState, b: PresenceState): boolean {
  return a.ver === b.ver && a.status === b.status && a.available === b.available && a.lastActive === b.lastActive
    && (a.availableUntil ?? null) === (b.availableUntil ?? null);
}

function sameMap(a: ReadonlyMap<string, PresenceState>, b: ReadonlyMap<string, PresenceState>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
