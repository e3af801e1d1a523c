import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RoomScheduler, type StepResult } from "../../src/adapters/matrix/room-scheduler.ts";

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A scheduler whose steps take `ms` and are logged as `room:item`. */
function recording(maxInFlight: number, ms = 2, result: (room: string, item: string) => StepResult = () => ({ kind: "done" })): { scheduler: RoomScheduler<string>; log: string[]; finished: string[] } {
  const log: string[] = [];
  const finished: string[] = [];
  const scheduler = new RoomScheduler<string>({
    maxInFlight,
    step: async (room, item) => {
      await wait(ms);
      log.push(`${room}:${item}`);
      return result(room, item);
    },
    finished: (room, item) => finished.push(`${room}:${item}`),
  });
  return { scheduler, log, finished };
}

async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await wait(2);
  }
}

describe("room scheduler", () => {
  it("keeps each room's order; runs at most maxInFlight steps at once, and a few more only for quiet rooms", async () => {
    let running = 0;
    let peak = 0;
    const log: string[] = [];
    const scheduler = new RoomScheduler<number>({
      maxInFlight: 3,
      step: async (room, item) => {
        running++;
        peak = Math.max(peak, running);
        await wait(1 + (item % 3));
        running--;
        log.push(`${room}:${item}`);
        return { kind: "done" };
      },
      finished: () => undefined,
    });
    for (let i = 0; i < 20; i++) for (const room of ["a", "b", "c", "d", "e"]) scheduler.push(room, i);
    await until(() => log.length === 100);
    assert.ok(peak >= 3 && peak <= 3 + 4, `peak ${peak}`);
    for (const room of ["a", "b", "c", "d", "e"]) {
      assert.deepEqual(log.filter((l) => l.startsWith(`${room}:`)), Array.from({ length: 20 }, (_, i) => `${room}:${i}`));
    }
  });

  it("a quiet room goes ahead of rooms that have been flooding", async () => {
    const { scheduler, log } = recording(1);
    for (let i = 0; i < 30; i++) for (const room of ["f1", "f2", "f3"]) scheduler.push(room, String(i));
    await until(() => log.length >= 30);
    scheduler.push("quiet", "hello");
    await until(() => log.includes("quiet:hello"));
    const position = log.indexOf("quiet:hello") - 30;
    assert.ok(position <= 1, `the quiet room waited for ${position} steps of the flood`);
    await until(() => log.length === 91);
  });

  it("past the cap, only a quiet room may start; setCap raises the cap at once", async () => {
    let running = 0;
    let block = false;
    const started: string[] = [];
    const releases: (() => void)[] = [];
    const scheduler = new RoomScheduler<string>({
      maxInFlight: 2,
      step: async (room) => {
        running++;
        started.push(room);
        if (block) await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { kind: "done" };
      },
      finished: () => undefined,
    });
    // Three rooms flood (each has more queued behind its head), and their steps hang.
    block = true;
    for (let i = 0; i < 3; i++) for (const room of ["f1", "f2", "f3"]) scheduler.push(room, `more ${i}`);
    await until(() => running === 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(running, 2, "busy rooms stay within the cap");
    scheduler.push("quiet", "hello");
    await until(() => started.includes("quiet"));
    assert.equal(running, 3, "the quiet room started beyond the cap");
    scheduler.setCap(6);
    await until(() => running === 4);
    block = false;
    for (const release of releases.splice(0)) release();
    await until(() => scheduler.pending === 0);
    await scheduler.stop();
  });

  it("a room with a backlog is not quiet, however rarely it has been served lately", async () => {
    let running = 0;
    const started: string[] = [];
    const releases: (() => void)[] = [];
    // Loads are forgotten at once: by load alone every flooding room would look quiet.
    const scheduler = new RoomScheduler<string>({
      maxInFlight: 1,
      halfLifeMs: 0.001,
      step: async (room) => {
        running++;
        started.push(room);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { kind: "done" };
      },
      finished: () => undefined,
    });
    for (let i = 0; i < 5; i++) for (const room of ["f1", "f2", "f3", "f4", "f5"]) scheduler.push(room, String(i));
    await until(() => running === 1);
    await wait(20);
    assert.equal(running, 1, "flooding rooms stay within the cap");
    scheduler.push("quiet", "hello");
    await until(() => started.includes("quiet"));
    assert.equal(running, 2, "the quiet room started beside the flood's step, beyond the cap");
    while (scheduler.pending > 0) {
      for (const release of releases.splice(0)) release();
      await wait(1);
    }
    await scheduler.stop();
  });

  it("a flooding room is not starved by a steady trickle elsewhere", async () => {
    const { scheduler, log } = recording(1, 1);
    for (let i = 0; i < 40; i++) scheduler.push("flood", String(i));
    for (let i = 0; i < 40; i++) {
      scheduler.push(`trickle${i}`, "x");
      await wait(3);
    }
    await until(() => log.length === 80);
    const floodShare = log.slice(0, 60).filter((l) => l.startsWith("flood:")).length;
    assert.ok(floodShare >= 15, `the flood got ${floodShare} of the first 60 steps`);
  });

  it("a room that must wait gives its slot back and retries the same item later", async () => {
    let tries = 0;
    const { scheduler, log, finished } = recording(1, 1, (room) => (room === "stuck" && tries++ < 2 ? { kind: "wait", ms: 30 } : { kind: "done" }));
    scheduler.push("stuck", "1");
    scheduler.push("stuck", "2");
    scheduler.push("free", "a");
    scheduler.push("free", "b");
    await until(() => finished.length === 4);
    assert.deepEqual(finished, ["free:a", "free:b", "stuck:1", "stuck:2"]);
    assert.equal(log.filter((l) => l === "stuck:1").length, 3);
  });

  it("settled() waits for what was pushed so far, not for what comes later; stop() releases it", async () => {
    const { scheduler, finished } = recording(1, 5);
    scheduler.push("a", "1");
    scheduler.push("a", "2");
    const settled = scheduler.settled("a").then(() => [...finished]);
    scheduler.push("a", "3");
    assert.deepEqual(await settled, ["a:1", "a:2"]);
    await scheduler.settled("nobody");
    scheduler.push("b", "1");
    scheduler.push("b", "2");
    const pending = scheduler.settled("b");
    await scheduler.stop();
    await pending;
  });

  it("below() holds the producer until the queue drains; stop() waits for running steps and drops the rest", async () => {
    const { scheduler, log } = recording(1, 5);
    for (let i = 0; i < 10; i++) scheduler.push("a", String(i));
    const before = scheduler.pending;
    await scheduler.below(8);
    const after = scheduler.pending;
    assert.deepEqual([before, after < 8], [10, true]);
    await scheduler.stop();
    const done = log.length;
    await wait(30);
    assert.equal(log.length, done, "nothing runs after stop");
    assert.ok(done < 10);
  });

  it("a room's lanes run side by side, each in order; an item without a lane keeps its place among them", async () => {
    const starts: string[] = [];
    const ends: string[] = [];
    let running = 0;
    let peakInOps = 0;
    const scheduler = new RoomScheduler<string>({
      maxInFlight: 8,
      step: async (_room, item) => {
        starts.push(item);
        running++;
        peakInOps = Math.max(peakInOps, running);
        // Thread t1's first item is slow: t2 must not wait for it.
        await wait(item === "t1-a" ? 40 : 5);
        running--;
        ends.push(item);
        return { kind: "done" };
      },
      finished: () => undefined,
    });
    scheduler.push("ops", "t1-a", "t1");
    scheduler.push("ops", "t2-a", "t2");
    scheduler.push("ops", "t1-b", "t1");
    scheduler.push("ops", "main", undefined);
    scheduler.push("ops", "t2-b", "t2");
    await scheduler.settled("ops");
    assert.ok(peakInOps >= 2, "two threads ran at once");
    assert.ok(ends.indexOf("t2-a") < ends.indexOf("t1-a"), "t2 went on while t1's slow item ran");
    assert.ok(ends.indexOf("t1-a") < starts.indexOf("t1-b"), "a thread keeps its order");
    for (const before of ["t1-a", "t1-b", "t2-a"]) assert.ok(ends.indexOf(before) < starts.indexOf("main"), `main waits for ${before}`);
    assert.ok(ends.indexOf("main") < starts.indexOf("t2-b"), "a later thread item waits for main");
    assert.equal(ends.length, 5);
  });

  it("a step waiting in settled() lends its slot: steps that wait for other rooms cannot starve them", async () => {
    // Two slots, both taken by steps of the "ops" lanes that wait for busy customer rooms whose
    // items were pushed after them: without lent slots nothing could ever run again.
    const log: string[] = [];
    const scheduler: RoomScheduler<string> = new RoomScheduler<string>({
      maxInFlight: 2,
      step: async (room, item) => {
        if (room === "ops") {
          await wait(10);
          await scheduler.settled(item);
        }
        log.push(`${room}:${item}`);
        return { kind: "done" };
      },
      finished: () => undefined,
    });
    // The customer rooms have been busy lately: they get no quiet room's extra slot.
    for (const room of ["c1", "c2"]) for (const item of ["1", "2", "3"]) scheduler.push(room, item);
    await scheduler.settled("c1");
    await scheduler.settled("c2");
    log.length = 0;
    scheduler.push("ops", "c1", "t1");
    scheduler.push("ops", "c2", "t2");
    scheduler.push("c1", "m");
    scheduler.push("c2", "m");
    await until(() => log.length === 4);
    assert.deepEqual(log.slice(0, 2).sort(), ["c1:m", "c2:m"]);
  });
});
