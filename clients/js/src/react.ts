// @presence/client/react: hooks over the client's stores, built on useSyncExternalStore (docs/clients.md).
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { boardStore, type BoardView } from "./board.js";
import { heartbeat } from "./heartbeat.js";
import { presenceStore, realtime } from "./realtime.js";
import type { HeartbeatEvent, PresenceState, Role, TokenSource } from "./types.js";

/**
 * The live presence of these therapists (keyed `therapist:id`), watched over the hub while mounted. Call
 * `realtime.connect()` once (anonymous, or with the token provider) for pushes to arrive.
 */
export function usePresence(ids: readonly string[], role: Role = "therapist"): ReadonlyMap<string, PresenceState> {
  const key = ids.join("\u0000");
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const stableIds = useMemo(() => [...ids], [key]);
  useEffect(() => {
    if (role !== "therapist" || stableIds.length === 0) return;
    void realtime.watch(stableIds);
    return () => {
      void realtime.unwatch(stableIds);
    };
  }, [stableIds, role]);
  const getSnapshot = useCallback(() => presenceStore.select(role, stableIds), [role, stableIds]);
  return useSyncExternalStore(presenceStore.subscribe, getSnapshot, getSnapshot);
}

/** The therapist board: polled, with live pushes applied in between. */
export function useTherapistBoard(): BoardView {
  return useSyncExternalStore(boardStore.subscribe, boardStore.getSnapshot, boardStore.getSnapshot);
}

const heartbeatEvents = {
  subscribe: (listener: () => void) => heartbeat.onEvent(listener),
  getSnapshot: () => heartbeat.lastEvent(),
};

/**
 * Heartbeats for the signed-in user while `getToken` is set: `null` (logout) stops and signs off. The provider is
 * read through a ref, so a new function on every render, or a refreshed token, never restarts (or signs off) anything.
 * Unmounting stops without a sign-off (closing the page signs off by itself).
 */
export function useHeartbeat(getToken: (() => string | null | undefined | Promise<string | null | undefined>) | null, role: Role): HeartbeatEvent | null {
  const ref = useRef(getToken);
  ref.current = getToken;
  const signedIn = getToken !== null;
  useEffect(() => {
    if (!signedIn) return;
    const source: TokenSource = () => ref.current?.() ?? null;
    void heartbeat.start(source, role);
    return () => {
      // Logout (getToken → null) signs off; an unmount or a role change only stops.
      heartbeat.stop({ signOff: ref.current === null });
    };
  }, [signedIn, role]);
  return useSyncExternalStore(heartbeatEvents.subscribe, heartbeatEvents.getSnapshot, heartbeatEvents.getSnapshot);
}

export type { BoardView } from "./board.js";
