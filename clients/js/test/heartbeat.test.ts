import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { configure, resetSettings } from "../src/config.js";
import { heartbeat } from "../src/heartbeat.js";
import { DEVICE_HEADER, deviceId } from "../src/util.js";

const jwt = (sub: string, n: number) => `x.${Buffer.from(JSON.stringify({ sub, n })).toString("base64url")}.y`;

type Call = { url: string; init: RequestInit };
let calls: Call[] = [];
let answers: Array<() => Response> = [];

function ok(nextHeartbeatSeconds = 1): Response {
  return new Response(JSON.stringify({ accepted: true, serverTime: new Date().toISOString(), nextHeartbeatSeconds }), { status: 200 });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  // Due timers (a 0 ms schedule) run on tick(0); the awaited fetch and provider on the next turns.
  for (let i = 0; i < 200 && !condition(); i++) {
    mock.timers.tick(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(condition(), what);
}

beforeEach(() => {
  calls = [];
  answers = [];
  (mock.timers.enable as unknown as (options: { apis: string[] }) => void)({ apis: ["setTimeout"] });
  mock.method(globalThis, "fetch", async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return (answers.shift() ?? (() => ok()))();
  });
  configure({ heartbeatBaseUrl: "https://api.example", minIntervalMs: 1000 });
});

afterEach(() => {
  heartbeat.stop({ signOff: false });
  mock.timers.reset();
  mock.restoreAll();
  resetSettings();
});

const auth = (c: Call) => (c.init.headers as Record<string, string>).Authorization;

describe("heartbeat", () => {
  it("asks the token provider for every request, so a refreshed token carries on without a sign-off", async () => {
    let n = 0;
    const getToken = async () => jwt("t-1", ++n);
    await heartbeat.start(getToken, "therapist");
    await until(() => calls.length === 1, "first heartbeat");
    mock.timers.tick(1000);
    await until(() => calls.length === 2, "second heartbeat");

    assert.equal(calls[0].url, "https://api.example/v1/therapists/heartbeat");
    assert.notEqual(auth(calls[0]), auth(calls[1]));
    assert.equal(auth(calls[1]), `Bearer ${jwt("t-1", n)}`);
    assert.ok(calls.every((c) => !c.url.endsWith("/offline")));
    assert.equal(heartbeat.getCurrentUserType(), "therapist");
    assert.equal(heartbeat.currentRole(), "therapist");
  });

  it("sends one stable device id in the header and the body", async () => {
    await heartbeat.start(jwt("t-2", 1), "therapist");
    await until(() => calls.length === 1, "heartbeat");
    const headers = calls[0].init.headers as Record<string, string>;
    assert.equal(headers[DEVICE_HEADER], deviceId());
    assert.equal(JSON.parse(String(calls[0].init.body)).deviceId, deviceId());
    assert.equal(deviceId(), deviceId());
  });

  it("says visible: false while the page is hidden, and nothing while it is visible", async () => {
    const page = { visibilityState: "visible", addEventListener() {}, removeEventListener() {} };
    const g = globalThis as Record<string, unknown>;
    g.document = page;
    g.window = { addEventListener() {}, removeEventListener() {} };
    try {
      await heartbeat.start(jwt("t-9", 1), "therapist");
      await until(() => calls.length === 1, "visible heartbeat");
      page.visibilityState = "hidden";
      mock.timers.tick(1000);
      await until(() => calls.length === 2, "hidden heartbeat");
      assert.equal("visible" in JSON.parse(String(calls[0].init.body)), false);
      assert.equal(JSON.parse(String(calls[1].init.body)).visible, false);
    } finally {
      heartbeat.stop({ signOff: false });
      delete g.document;
      delete g.window;
    }
  });

  it("starting again for the same user with a new token swaps the token and signs nobody off", async () => {
    await heartbeat.start(jwt("t-3", 1), "community");
    await until(() => calls.length === 1, "heartbeat");
    await heartbeat.start(jwt("t-3", 2), "community");
    mock.timers.tick(1000);
    await until(() => calls.length === 2, "next heartbeat");
    assert.equal(auth(calls[1]), `Bearer ${jwt("t-3", 2)}`);
    assert.ok(calls.every((c) => c.url.endsWith("/v1/community/heartbeat")));
  });

  it("waits for Retry-After after a 429", async () => {
    answers.push(() => new Response(null, { status: 429, headers: { "Retry-After": "5" } }));
    const events: string[] = [];
    heartbeat.onEvent((e) => events.push(`${e.outcome}:${e.nextDelayMs}`));
    await heartbeat.start(jwt("t-4", 1), "therapist");
    await until(() => calls.length === 1, "refused heartbeat");
    await until(() => events.includes("throttled:5000"), "throttled event");
    mock.timers.tick(4999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(calls.length, 1);
    mock.timers.tick(1);
    await until(() => calls.length === 2, "heartbeat after Retry-After");
  });

  it("stop() signs off with the last token and the device id; stop({signOff:false}) does not", async () => {
    await heartbeat.start(async () => jwt("t-5", 7), "therapist");
    await until(() => calls.length === 1, "heartbeat");
    heartbeat.stop();
    assert.equal(calls.length, 2);
    assert.equal(calls[1].url, "https://api.example/v1/therapists/offline");
    assert.equal(auth(calls[1]), `Bearer ${jwt("t-5", 7)}`);
    assert.equal(calls[1].init.keepalive, true);
    assert.equal(heartbeat.isRunning(), false);

    await heartbeat.start(jwt("t-6", 1), "therapist");
    await until(() => calls.length === 3, "heartbeat");
    heartbeat.stop({ signOff: false });
    assert.equal(calls.length, 3);
  });

  it("refuses an unknown role", async () => {
    await assert.rejects(heartbeat.start("token", "admin" as never), /Unknown role/);
  });
});
