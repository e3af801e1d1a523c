import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeyedLimit } from "../../src/core/keyed-limit.ts";

/** A task that runs until `finish` is called, recording when it started. */
function held(log: string[], name: string): { task: () => Promise<string>; finish: () => void; fail: (e: Error) => void } {
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return {
    task: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
    fail: (e) => fail(e),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("KeyedLimit", () => {
  it("runs at most the limit per key; the others start in the order they came, as slots free up", async () => {
    const limit = new KeyedLimit(2);
    const started: string[] = [];
    const tasks = ["a", "b", "c", "d"].map((n) => held(started, n));
    const results = tasks.map((t) => limit.run("room", t.task));
    await tick();
    assert.deepEqual(started, ["a", "b"]);
    assert.equal(limit.running("room"), 2);
    tasks[1]?.finish();
    await tick();
    assert.deepEqual(started, ["a", "b", "c"]);
    tasks[0]?.finish();
    await tick();
    assert.deepEqual(started, ["a", "b", "c", "d"]);
    assert.equal(limit.running("room"), 2);
    tasks[2]?.finish();
    tasks[3]?.finish();
    assert.deepEqual(await Promise.all(results), ["a", "b", "c", "d"]);
    assert.equal(limit.running("room"), 0);
  });

  it("keys do not wait for each other", async () => {
    const limit = new KeyedLimit(1);
    const started: string[] = [];
    const busy = held(started, "busy");
    const queued = held(started, "queued");
    const other = held(started, "other");
    const all = [limit.run("one", busy.task), limit.run("one", queued.task), limit.run("two", other.task)];
    await tick();
    assert.deepEqual(started, ["busy", "other"]);
    for (const t of [busy, queued, other]) t.finish();
    await Promise.all(all);
  });

  it("a task that fails frees its slot and its error reaches the caller", async () => {
    const limit = new KeyedLimit(1);
    const started: string[] = [];
    const failing = held(started, "failing");
    const next = held(started, "next");
    const first = limit.run("room", failing.task);
    const second = limit.run("room", next.task);
    failing.fail(new Error("refused"));
    await assert.rejects(first, /refused/);
    await tick();
    assert.deepEqual(started, ["failing", "next"]);
    next.finish();
    assert.equal(await second, "next");
    assert.equal(limit.running("room"), 0);
  });

  it("refuses a limit below 1", () => {
    assert.throws(() => new KeyedLimit(0), /at least 1 task per key, not 0/);
  });
});
