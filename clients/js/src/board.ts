import { joinUrl, settings } from "./config.js";
import { realtime } from "./realtime.js";
import type { Board, BoardTherapist, PresenceChange } from "./types.js";
import { notify, retryAfterMs } from "./util.js";

const ORDER: Record<BoardTherapist["status"], number> = { online: 0, recent: 1, available: 2 };

/** The wait before a failed board read is tried again when the answer names none (no `Retry-After`, no answer). */
export const FAILED_READ_RETRY_MS = 5_000;

/** What `useTherapistBoard` shows: the board (null until the first answer), whether it is stale, the last error. */
export interface BoardView {
  board: Board | null;
  stale: boolean;
  error: string | null;
}

/**
 * The therapist board: polled (with `If-None-Match`, so an unchanged board is a bodiless 304) every `boardPollMs`, with
 * the hub's pushes applied in between (highest `ver` per therapist). A failed read is tried again sooner: after the
 * answer's `Retry-After` (a 503 in an outage), else after `FAILED_READ_RETRY_MS`, never later than the next poll; a
 * push that comes before the first board has nothing to apply to, so that board must not wait a whole poll interval.
 * Snapshots are stable objects for `useSyncExternalStore`. Starts with the first subscriber, stops with the last.
 */
export class BoardStore {
  #view: BoardView = { board: null, stale: false, error: null };
  #etag: string | null = null;
  #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: (() => void) | null = null;
  #running = false;

  getSnapshot = (): BoardView => this.#view;

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  };

  /** Reads the board now. */
  async refresh(): Promise<void> {
    clearTimeout(this.#timer);
    let retryMs = FAILED_READ_RETRY_MS;
    let failed = false;
    try {
      const headers: Record<string, string> = this.#etag ? { "If-None-Match": this.#etag } : {};
      const response = await fetch(joinUrl(settings.statusBaseUrl, "/v1/therapists/status/realtime"), { headers, cache: "no-store" });
      const stale = response.headers.get("X-Presence-Stale") === "true";
      if (response.status === 200) {
        this.#etag = response.headers.get("ETag");
        this.#set({ board: (await response.json()) as Board, stale, error: null });
      } else if (response.status === 304) {
        if (this.#view.stale !== stale || this.#view.error) this.#set({ ...this.#view, stale, error: null });
      } else {
        // A refused read (a 503 in an outage) says when to come back.
        retryMs = retryAfterMs(response.headers, FAILED_READ_RETRY_MS);
        throw new Error(`HTTP ${response.status}`);
      }
    } catch (error) {
      failed = true;
      this.#set({ ...this.#view, error: String(error) });
    } finally {
      const nextMs = failed ? Math.min(settings.boardPollMs, retryMs) : settings.boardPollMs;
      if (this.#running) this.#timer = setTimeout(() => void this.refresh(), nextMs);
    }
  }

  /** Applies one push to the board (unknown fields are left as the last poll gave them). */
  apply(change: PresenceChange): void {
    const board = this.#view.board && applyBoardChange(this.#view.board, change);
    if (board) this.#set({ ...this.#view, board });
  }

  #start(): void {
    this.#running = true;
    this.#unsubscribe = realtime.onPresenceChanged((change) => this.apply(change));
    void realtime.watchTherapists();
    void this.refresh();
  }

  #stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #set(view: BoardView): void {
    this.#view = view;
    notify([...this.#listeners]);
  }
}

/**
 * The board after one push, or null when the push does not change it (another role, or older than the therapist's
 * known `ver`). The board page and `useTherapistBoard` both use it.
 */
export function applyBoardChange(board: Board, change: PresenceChange): Board | null {
  if (change.role !== "therapist" || typeof change.id !== "string") return null;
  const list = board.therapists.map((t) => ({ ...t }));
  let t = list.find((x) => x.id === change.id);
  if (t && typeof t.ver === "number" && typeof change.ver === "number" && change.ver <= t.ver) return null;
  if (!t) {
    t = { id: change.id, status: "available", available: false, lastActive: null, lastActiveAgo: null };
    list.push(t);
  }
  if (typeof change.ver === "number") t.ver = change.ver;
  switch (change.status) {
    case "online": t.status = "online"; t.lastActiveAgo = "just now"; break;
    case "recent": t.status = "recent"; t.lastActiveAgo = null; break;
    case "offline": t.status = "available"; t.lastActiveAgo = null; break;
    case "available": t.available = true; break;
    case "unavailable": t.available = false; break;
    default: return null;
  }
  if (typeof change.available === "boolean") t.available = change.available;
  if (change.availableUntil !== undefined) t.availableUntil = change.availableUntil;
  if (change.lastActive) t.lastActive = change.lastActive;
  const therapists = list
    .filter((x) => x.status !== "available" || x.available)
    .sort((a, b) => (ORDER[a.status] - ORDER[b.status])
      || (Date.parse(b.lastActive || "0") - Date.parse(a.lastActive || "0"))
      || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const counts = { online: 0, recent: 0, available: 0 };
  for (const x of therapists) counts[x.status]++;
  return { ...board, therapists, counts };
}

/** The one board of this page. */
export const boardStore = new BoardStore();
