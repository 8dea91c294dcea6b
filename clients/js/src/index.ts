// @presence/client: the Presence browser client (docs/clients.md). Nothing runs at import time.
import { configure } from "./config.js";
import { heartbeat } from "./heartbeat.js";
import { realtime } from "./realtime.js";
import { jitteredDelay, jitteredRetryPolicy } from "./util.js";

export { configure, resetSettings, roleSegment, type ConfigureOptions, type PresenceSettings } from "./config.js";
export { heartbeat } from "./heartbeat.js";
export { realtime, presenceStore, HubMethods, HubMessages } from "./realtime.js";
export { PresenceStore } from "./store.js";
export { BoardStore, boardStore, applyBoardChange, type BoardView } from "./board.js";
export { jitteredDelay, jitteredRetryPolicy, subjectOf, retryAfterMs, resolveToken, deviceId, DEVICE_HEADER } from "./util.js";
export type * from "./types.js";

export default { configure, heartbeat, realtime, jitteredDelay, jitteredRetryPolicy };
