import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { configure, resetSettings, settings } from "../src/config.js";
import { PresenceStore } from "../src/store.js";
import { jitteredDelay, retryAfterMs, subjectOf } from "../src/util.js";

const jwt = (sub: string) => `x.${Buffer.from(JSON.stringify({ sub })).toString("base64url")}.y`;
const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name] ?? null });

afterEach(() => resetSettings());

describe("jitteredDelay", () => {
  it("spreads the first retry over the first window, then doubles with equal jitter up to the cap", () => {
    assert.equal(jitteredDelay(0, () => 0.999), 1998);
    assert.equal(jitteredDelay(0, () => 0), 0);
    assert.equal(jitteredDelay(1, () => 0), 1000);
    assert.equal(jitteredDelay(1, () => 1), 2000);
    assert.equal(jitteredDelay(3, () => 0), 4000);
    assert.equal(jitteredDelay(30, () => 1), 30_000);
    assert.equal(jitteredDelay(30, () => 0), 15_000);
  });
});

describe("retryAfterMs", () => {
  it("reads seconds, an HTTP date, and falls back without a header", () => {
    assert.equal(retryAfterMs(headers({ "Retry-After": "7" }), 10), 7000);
    assert.equal(retryAfterMs(headers({ "Retry-After": "0" }), 10), 1000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(retryAfterMs(headers({ "Retry-After": "Thu, 01 Jan 2026 00:00:05 GMT" }), 10, now), 5000);
    assert.equal(retryAfterMs(headers({}), 1234), 1234);
    assert.equal(retryAfterMs(headers({ "Retry-After": "soon" }), 1234), 1234);
  });
});

describe("subjectOf", () => {
  it("answers the sub of a JWT and null for anything else", () => {
    assert.equal(subjectOf(jwt("t-1")), "t-1");
    assert.equal(subjectOf("not-a-jwt"), null);
    assert.equal(subjectOf(null), null);
  });
});

describe("configure", () => {
  it("takes a frontend's backend URL (…/v1) for the REST bases and the hub", () => {
    configure({ backendUrl: "http://localhost:3001/v1/" });
    assert.equal(settings.heartbeatBaseUrl, "http://localhost:3001");
    assert.equal(settings.statusBaseUrl, "http://localhost:3001");
    assert.equal(settings.gatewayUrl, "http://localhost:3001/hubs/presence");
  });

  it("keeps explicit bases over the derived ones", () => {
    configure({ backendUrl: "https://api.example/v1", gatewayUrl: "wss://hub.example/hubs/presence" });
    assert.equal(settings.gatewayUrl, "wss://hub.example/hubs/presence");
    assert.equal(settings.heartbeatBaseUrl, "https://api.example");
  });
});

describe("PresenceStore", () => {
  const change = (ver: number | undefined, status: "online" | "recent" | "offline", extra = {}) =>
    ({ role: "therapist" as const, id: "t-1", ver, status, available: false, reason: "heartbeat" as const, ...extra });

  it("keeps the highest ver per user and drops older and repeated events", () => {
    const store = new PresenceStore();
    assert.equal(store.apply(change(2, "online")), true);
    assert.equal(store.apply(change(1, "recent")), false);
    assert.equal(store.apply(change(2, "recent")), false);
    assert.equal(store.get("therapist", "t-1")?.status, "online");
    assert.equal(store.apply(change(3, "offline", { reason: "window-ended" })), true);
    assert.equal(store.get("therapist", "t-1")?.status, "offline");
    assert.equal(store.get("therapist", "t-1")?.ver, 3);
  });

  it("treats an event without ver as ver 0: applied to an unknown user, dropped after a versioned one", () => {
    const store = new PresenceStore();
    assert.equal(store.apply(change(undefined, "online")), true);
    assert.equal(store.apply(change(undefined, "recent")), true);
    assert.equal(store.apply(change(1, "online")), true);
    assert.equal(store.apply(change(undefined, "recent")), false);
  });

  it("keeps users apart by role and id", () => {
    const store = new PresenceStore();
    store.apply(change(5, "online"));
    assert.equal(store.apply({ ...change(1, "online"), id: "t-2" }), true);
    assert.equal(store.apply({ ...change(1, "online"), role: "community" }), true);
    assert.equal(store.getSnapshot().size, 3);
  });

  it("carries availability and its end", () => {
    const store = new PresenceStore();
    store.apply(change(1, "online", { available: true, availableUntil: "2026-01-01T12:00:00Z", reason: "set" }));
    const state = store.get("therapist", "t-1")!;
    assert.equal(state.available, true);
    assert.equal(state.availableUntil, "2026-01-01T12:00:00Z");
    assert.equal(state.reason, "set");
  });

  it("answers the same snapshot object until a change, and notifies subscribers of changes only", () => {
    const store = new PresenceStore();
    let calls = 0;
    const unsubscribe = store.subscribe(() => calls++);
    store.apply(change(1, "online"));
    const first = store.getSnapshot();
    assert.equal(store.getSnapshot(), first);
    store.apply(change(1, "online"));
    assert.equal(store.getSnapshot(), first);
    assert.equal(calls, 1);
    store.apply(change(2, "recent"));
    assert.notEqual(store.getSnapshot(), first);
    assert.equal(calls, 2);
    unsubscribe();
    store.apply(change(3, "online"));
    assert.equal(calls, 2);
  });

  it("answers a stable selection while the selected users do not change", () => {
    const store = new PresenceStore();
    store.apply(change(1, "online"));
    const selected = store.select("therapist", ["t-1"]);
    store.apply({ ...change(1, "online"), id: "t-other" });
    assert.equal(store.select("therapist", ["t-1"]), selected);
    store.apply(change(2, "recent"));
    const next = store.select("therapist", ["t-1"]);
    assert.notEqual(next, selected);
    assert.equal(next.get("therapist:t-1")?.status, "recent");
  });

  it("takes snapshots, skipping entries older than a known ver", () => {
    const store = new PresenceStore();
    store.apply(change(4, "online"));
    store.applySnapshot({ generatedAt: "", entries: [
      { role: "therapist", id: "t-1", status: "recent", available: false, ver: 3 },
      { role: "therapist", id: "t-2", status: "available", available: true },
    ] });
    assert.equal(store.get("therapist", "t-1")?.status, "online");
    assert.equal(store.get("therapist", "t-2")?.status, "offline");
    assert.equal(store.get("therapist", "t-2")?.available, true);
    store.applySnapshot({ generatedAt: "", entries: [{ role: "therapist", id: "t-1", status: "recent", available: false }] });
    assert.equal(store.get("therapist", "t-1")?.status, "recent");
    assert.equal(store.get("therapist", "t-1")?.ver, 4);
  });

  it("applies an older gateway's flag-only transitions without touching the bucket", () => {
    const store = new PresenceStore();
    store.apply(change(undefined, "online"));
    store.apply({ role: "therapist", id: "t-1", status: "available" });
    assert.equal(store.get("therapist", "t-1")?.status, "online");
    assert.equal(store.get("therapist", "t-1")?.available, true);
  });
});

describe("the package entry", () => {
  it("imports without a DOM and starts nothing", async () => {
    const module = await import("../src/index.js");
    assert.equal(module.heartbeat.isRunning(), false);
    assert.equal(module.realtime.state(), "disconnected");
    assert.equal(typeof module.default.configure, "function");
  });
});
