import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import type { Job, JobCounts, JobMetrics, JobOutcome, JobQueue, Store } from "../../src/core/ports.ts";
import { jobBackoffMs, Scheduler, type JobHandler, type PeriodicTask } from "../../src/core/scheduler.ts";
import { ManualClock, MemoryLogger } from "../support/helpdesk-fixture.ts";

class RecordingJobMetrics implements JobMetrics {
  readonly runs: string[] = [];
  readonly tasks: string[] = [];
  counts: JobCounts | undefined;
  jobRun(kind: string, outcome: JobOutcome): void {
    this.runs.push(`${kind} ${outcome}`);
  }
  jobsQueued(counts: JobCounts): void {
    this.counts = counts;
  }
  taskRun(task: string, outcome: JobOutcome): void {
    this.tasks.push(`${task} ${outcome}`);
  }
}

async function setup(handlers: readonly JobHandler[], tasks: readonly PeriodicTask[] = []): Promise<{ store: Store; clock: ManualClock; logger: MemoryLogger; metrics: RecordingJobMetrics; scheduler: Scheduler }> {
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  const clock = new ManualClock();
  const logger = new MemoryLogger();
  const metrics = new RecordingJobMetrics();
  const scheduler = new Scheduler({ store, clock, logger, metrics }, handlers, tasks, { countsEveryMs: 0 });
  return { store, clock, logger, metrics, scheduler };
}

/** A handler that records payloads and fails with the errors queued in `failures`. */
function handler(kind: string, seen: string[], failures: Error[] = []): JobHandler {
  return {
    kind,
    run(job: Job) {
      const failure = failures.shift();
      if (failure !== undefined) return Promise.reject(failure);
      seen.push(job.payload);
      return Promise.resolve();
    },
  };
}

describe("scheduler: jobs", () => {
  it("runs due jobs of the kinds it knows, removes them when done, leaves others queued", async () => {
    const seen: string[] = [];
    const { store, clock, metrics, scheduler } = await setup([handler("note", seen)]);
    await store.jobs.enqueue({ kind: "note", key: "n1", payload: "first", runAt: clock.now() });
    await store.jobs.enqueue({ kind: "other", key: "o1", payload: "not mine", runAt: clock.now() });
    await store.jobs.enqueue({ kind: "note", key: "n2", payload: "later", runAt: new Date(clock.now().getTime() + 60_000) });
    await scheduler.tick();
    assert.deepEqual(seen, ["first"]);
    clock.advance(60_000);
    await scheduler.tick();
    assert.deepEqual(seen, ["first", "later"]);
    assert.deepEqual(metrics.runs, ["note done", "note done"]);
    assert.deepEqual(metrics.counts?.pending, new Map([["other", 1]]));
  });

  it("retries a job whose service is down with growing backoff, and runs it once it is back", async () => {
    const seen: string[] = [];
    const down = (): Error => new HonoroitError("UNREACHABLE", "tracker unreachable");
    const { store, clock, logger, metrics, scheduler } = await setup([handler("note", seen, [down(), down()])]);
    await store.jobs.enqueue({ kind: "note", key: "n1", payload: "p", runAt: clock.now() });
    await scheduler.tick();
    const [afterOne] = await store.jobs.due(new Date(clock.now().getTime() + jobBackoffMs(1)), ["note"], 10);
    assert.ok(afterOne !== undefined);
    assert.equal(afterOne.attempts, 1);
    assert.equal(afterOne.lastError, "tracker unreachable");
    assert.equal(afterOne.runAt.getTime(), clock.now().getTime() + 5000);
    await scheduler.tick();
    assert.deepEqual(seen, [], "not due before its backoff");
    clock.advance(5000);
    await scheduler.tick();
    clock.advance(9_999);
    await scheduler.tick();
    assert.deepEqual(seen, [], "the second backoff is 10 s");
    clock.advance(1);
    await scheduler.tick();
    assert.deepEqual(seen, ["p"]);
    assert.deepEqual(metrics.runs, ["note retry", "note retry", "note done"]);
    assert.ok(logger.lines.some((l) => l.level === "warn" && l.message === "a job failed; retrying in 5s"));
  });

  it("a handler's own cap on the backoff keeps its retries at most that far apart", async () => {
    const down = (): Error => new HonoroitError("UNREACHABLE", "tracker unreachable");
    const capped = { ...handler("note", [], Array.from({ length: 12 }, down)), maxBackoffMs: 60_000 };
    const { store, clock, scheduler } = await setup([capped]);
    await store.jobs.enqueue({ kind: "note", key: "n1", payload: "p", runAt: clock.now() });
    for (let i = 0; i < 10; i++) {
      await scheduler.tick();
      clock.advance(60_000);
    }
    const [job] = await store.jobs.due(clock.now(), ["note"], 10);
    assert.equal(job?.attempts, 10, "tried every minute, not after 5, 10, 20 … minutes");
  });

  it("marks a job failed for good when its failure is its own, and keeps it out of the way", async () => {
    const seen: string[] = [];
    const { store, clock, logger, metrics, scheduler } = await setup([handler("note", seen, [new Error("422: subject can't be blank")])]);
    await store.jobs.enqueue({ kind: "note", key: "n1", lane: "ticket:1", payload: "bad", runAt: clock.now() });
    await store.jobs.enqueue({ kind: "note", key: "n2", lane: "ticket:1", payload: "next", runAt: clock.now() });
    await scheduler.tick();
    await scheduler.tick();
    assert.deepEqual(seen, ["next"], "a failed job no longer blocks its lane");
    assert.deepEqual(metrics.runs, ["note failed", "note done"]);
    assert.deepEqual(metrics.counts?.failed, new Map([["note", 1]]));
    assert.ok(logger.lines.some((l) => l.level === "error" && l.message === "a job failed for good" && l.fields?.["key"] === "n1"));
  });

  it("overlapping ticks never run a job twice (a slow database answers the second look before the first job is done)", async () => {
    const seen: string[] = [];
    const { store, clock, metrics } = await setup([]);
    await store.jobs.enqueue({ kind: "note", key: "n1", payload: "once", runAt: clock.now() });
    // The real queue, with an answer to `due` that takes its time.
    const { jobs } = store;
    const slowJobs: JobQueue = {
      enqueue: (job) => jobs.enqueue(job),
      due: async (...args) => {
        const due = await jobs.due(...args);
        await new Promise((r) => setTimeout(r, 30));
        return due;
      },
      complete: (id) => jobs.complete(id),
      retry: (id, at, error) => jobs.retry(id, at, error),
      fail: (id, error) => jobs.fail(id, error),
      counts: () => jobs.counts(),
    };
    const scheduler = new Scheduler({ store: { jobs: slowJobs }, clock, logger: new MemoryLogger(), metrics }, [handler("note", seen)], [], { countsEveryMs: 0 });
    const first = scheduler.tick();
    await new Promise((r) => setTimeout(r, 10));
    const second = scheduler.tick();
    await Promise.all([first, second]);
    await scheduler.tick();
    assert.deepEqual(seen, ["once"]);
  });
});

describe("scheduler: periodic tasks", () => {
  it("runs each task when due, reading its interval every time; a failing task retries sooner and shows in health", async () => {
    const { store, clock, metrics } = await setup([]);
    let every = 60_000;
    let runs = 0;
    let failNext = false;
    const task: PeriodicTask = {
      name: "auto-close",
      every: () => every,
      run: () => {
        runs++;
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error("database unreachable"));
        }
        return Promise.resolve();
      },
    };
    const s = new Scheduler({ store, clock, logger: new MemoryLogger(), metrics }, [], [task]);
    await s.tick();
    assert.equal(runs, 1, "due at start");
    clock.advance(30_000);
    await s.tick();
    assert.equal(runs, 1);
    every = 10_000;
    await s.tick();
    assert.equal(runs, 2, "a shorter interval applies at once");
    failNext = true;
    clock.advance(10_000);
    await s.tick();
    assert.equal(runs, 3);
    assert.deepEqual(s.health(), { ok: false, detail: "auto-close failing (1×): database unreachable" });
    clock.advance(5000);
    await s.tick();
    assert.equal(runs, 4, "retried after the backoff (5 s), before its interval");
    assert.deepEqual(s.health(), { ok: true });
    assert.deepEqual(metrics.tasks, ["auto-close done", "auto-close done", "auto-close retry", "auto-close done"]);
  });
});
