import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { BoardStore, FAILED_READ_RETRY_MS } from "../src/board.js";
import { configure, resetSettings } from "../src/config.js";

let reads = 0;
let answers: Array<() => Response> = [];
const board = () => new Response(JSON.stringify({ therapists: [], counts: { online: 0, recent: 0, available: 0 } }), { status: 200, headers: { ETag: '"1"' } });

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) {
    mock.timers.tick(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(condition(), what);
}

async function readsAfter(ms: number): Promise<number> {
  mock.timers.tick(ms);
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return reads;
}

beforeEach(() => {
  reads = 0;
  answers = [];
  (mock.timers.enable as unknown as (options: { apis: string[] }) => void)({ apis: ["setTimeout"] });
  mock.method(globalThis, "fetch", async () => {
    reads++;
    return (answers.shift() ?? board)();
  });
  configure({ statusBaseUrl: "https://status.example", boardPollMs: 60_000 });
});

afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
  resetSettings();
});

describe("BoardStore", () => {
  it("tries a refused read again after its Retry-After, not a whole poll interval later", async () => {
    answers.push(() => new Response(null, { status: 503, headers: { "Retry-After": "3" } }));
    const store = new BoardStore();
    const stop = store.subscribe(() => {});
    await until(() => reads === 1 && store.getSnapshot().error !== null, "the refused first read");
    assert.equal(store.getSnapshot().board, null);
    assert.equal(await readsAfter(2_999), 1);
    assert.equal(await readsAfter(1), 2);
    await until(() => store.getSnapshot().board !== null, "the board after the retry");
    // Read fine: back to the poll interval.
    assert.equal(await readsAfter(FAILED_READ_RETRY_MS), 2);
    assert.equal(await readsAfter(60_000 - FAILED_READ_RETRY_MS), 3);
    stop();
  });

  it("tries a read that got no answer again after FAILED_READ_RETRY_MS", async () => {
    answers.push(() => { throw new TypeError("fetch failed"); });
    const store = new BoardStore();
    const stop = store.subscribe(() => {});
    await until(() => reads === 1 && store.getSnapshot().error !== null, "the failed first read");
    assert.equal(await readsAfter(FAILED_READ_RETRY_MS - 1), 1);
    assert.equal(await readsAfter(1), 2);
    stop();
  });
});
