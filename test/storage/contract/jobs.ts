import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseTicketId } from "../../../src/core/ids.ts";
import type { Job, JobQueue, NewJob } from "../../../src/core/ports/storage.ts";
import { at, isNotFound, openTicket, room, STORE_NOW, user } from "./support.ts";
import type { Harness } from "./support.ts";

const ALL_KINDS = ["tracker.open", "tracker.note", "ping"];

/** Queues a job that must be new. */
async function queue(jobs: JobQueue, job: Omit<NewJob, "payload"> & { payload?: string }): Promise<void> {
  assert.equal(await jobs.enqueue({ payload: "{}", ...job }), true, `${job.key} is new`);
}

/** The id of a job that is due (at any time) and not blocked in its lane. */
async function dueId(jobs: JobQueue, key: string): Promise<number> {
  const found = (await jobs.due(new Date(8.64e15), ALL_KINDS, 1000)).find((j) => j.key === key);
  assert.ok(found !== undefined, `${key} is due`);
  return found.id;
}

const keys = (jobs: readonly Job[]): string[] => jobs.map((j) => j.key);

/** The job queue and the tracker notes. */
export function jobContract(h: Harness): void {
  describe("job queue", () => {
    test("enqueue is idempotent by key, until the job is done", async () => {
      const store = await h.fresh();
      const job: NewJob = { kind: "tracker.note", key: "note:1", lane: "ticket:1", payload: '{"text":"hi"}', runAt: at(1) };
      assert.equal(await store.jobs.enqueue(job), true);
      assert.equal(await store.jobs.enqueue({ ...job, payload: '{"text":"other"}', runAt: at(0) }), false, "same key: nothing");

      const [due, ...rest] = await store.jobs.due(at(1), ["tracker.note"], 10);
      assert.deepEqual(rest, []);
      assert.ok(due !== undefined && Number.isSafeInteger(due.id) && due.id > 0);
      assert.deepEqual(due, {
        id: due.id,
        kind: "tracker.note",
        key: "note:1",
        lane: "ticket:1",
        payload: '{"text":"hi"}',
        attempts: 0,
        runAt: at(1),
        lastError: null,
        createdAt: STORE_NOW,
      });

      await store.jobs.fail(due.id, "400 Bad Request");
      assert.equal(await store.jobs.enqueue(job), false, "a failed job's key stays taken");

      const other: NewJob = { kind: "ping", key: "ping:1", payload: "{}", runAt: at(0) };
      await store.jobs.enqueue(other);
      const [ping] = await store.jobs.due(at(0), ["ping"], 10);
      assert.ok(ping !== undefined);
      assert.equal(ping.lane, null, "no lane");
      await store.jobs.complete(ping.id);
      assert.equal(await store.jobs.enqueue(other), true, "a completed job is gone, so its key is free again");
    });

    test("due gives jobs of the asked kinds due by now, oldest first, limited", async () => {
      const store = await h.fresh();
      const { jobs } = store;
      await queue(jobs, { kind: "tracker.open", key: "a", runAt: at(5) });
      await queue(jobs, { kind: "tracker.note", key: "b", runAt: at(1) });
      await queue(jobs, { kind: "tracker.open", key: "c", runAt: at(2) });
      await queue(jobs, { kind: "tracker.open", key: "d", runAt: at(100) });

      assert.deepEqual(await jobs.due(at(0), ALL_KINDS, 10), [], "nothing due before its time");
      assert.deepEqual(keys(await jobs.due(at(10), ALL_KINDS, 10)), ["a", "b", "c"], "in the order queued");
      assert.deepEqual(keys(await jobs.due(at(10), ["tracker.open"], 10)), ["a", "c"], "only the asked kinds");
      assert.deepEqual(keys(await jobs.due(at(10), ALL_KINDS, 2)), ["a", "b"], "limited");
      assert.deepEqual(await jobs.due(at(10), [], 10), [], "no kinds, no jobs");
      assert.deepEqual(keys(await jobs.due(at(100), ["tracker.open"], 10)), ["a", "c", "d"], "due at its time");
    });

    test("a lane runs in order: an older pending job blocks it, due or not, of any kind", async () => {
      const store = await h.fresh();
      const { jobs } = store;
      await queue(jobs, { kind: "tracker.open", key: "t1-open", lane: "ticket:1", runAt: at(50) });
      await queue(jobs, { kind: "tracker.note", key: "t1-note", lane: "ticket:1", runAt: at(0) });
      await queue(jobs, { kind: "tracker.note", key: "t2-note", lane: "ticket:2", runAt: at(0) });
      await queue(jobs, { kind: "ping", key: "free", runAt: at(0) });
      await queue(jobs, { kind: "ping", key: "t3-ping", lane: "ticket:3", runAt: at(0) });
      await queue(jobs, { kind: "tracker.note", key: "t3-note", lane: "ticket:3", runAt: at(0) });

      assert.deepEqual(keys(await jobs.due(at(10), ALL_KINDS, 10)), ["t2-note", "free", "t3-ping"], "t1-note waits for t1-open");
      assert.deepEqual(keys(await jobs.due(at(10), ["tracker.note"], 10)), ["t2-note"], "t3-note waits for a ping it was not asked about");
      assert.deepEqual(keys(await jobs.due(at(60), ALL_KINDS, 10)), ["t1-open", "t2-note", "free", "t3-ping"], "one per lane at a time");

      const open = await dueId(jobs, "t1-open");
      await jobs.retry(open, at(70), "503");
      assert.deepEqual(keys(await jobs.due(at(60), ["tracker.note"], 10)), ["t2-note"], "a job waiting to be retried still holds its lane");

      await jobs.complete(open);
      assert.deepEqual(keys(await jobs.due(at(60), ["tracker.note"], 10)), ["t1-note", "t2-note"], "the next in the lane once it is done");

      await jobs.fail(await dueId(jobs, "t3-ping"), "gone");
      assert.deepEqual(keys(await jobs.due(at(60), ["tracker.note"], 10)), ["t1-note", "t2-note", "t3-note"], "a failed job no longer blocks");
    });

    test("retry counts an attempt and waits; fail keeps the job, marked, out of the queue", async () => {
      const store = await h.fresh();
      const { jobs } = store;
      await queue(jobs, { kind: "tracker.open", key: "open:1", runAt: at(0) });
      const id = await dueId(jobs, "open:1");

      await jobs.retry(id, at(30), "503 Service Unavailable");
      assert.deepEqual(await jobs.due(at(10), ALL_KINDS, 10), [], "waits until its new time");
      await jobs.retry(id, at(40), "timeout");
      const [retried] = await jobs.due(at(40), ALL_KINDS, 10);
      assert.equal(retried?.id, id);
      assert.equal(retried.attempts, 2);
      assert.equal(retried.lastError, "timeout");
      assert.equal(retried.runAt.getTime(), at(40).getTime());

      await jobs.fail(id, "422 the issue tracker refused it");
      assert.deepEqual(await jobs.due(at(1_000_000), ALL_KINDS, 10), [], "never run again");
      await jobs.retry(id, at(50), "late retry");
      assert.deepEqual(await jobs.due(at(1_000_000), ALL_KINDS, 10), [], "a retry does not revive a failed job");
      const counts = await jobs.counts();
      assert.deepEqual([...counts.failed], [["tracker.open", 1]]);
      assert.deepEqual([...counts.pending], []);
    });

    test("fail counts the attempt; retry, fail and complete of an unknown job, and fail of a failed one, do nothing", async () => {
      const db = await h.database();
      const store = h.storeOn(db);
      await store.migrate();
      const { jobs } = store;
      await queue(jobs, { kind: "ping", key: "p", runAt: at(0) });
      const id = await dueId(jobs, "p");
      await jobs.retry(id + 1000, at(5), "no such job");
      await jobs.fail(id + 1000, "no such job");
      await jobs.complete(id + 1000);
      const [untouched] = await jobs.due(at(0), ALL_KINDS, 10);
      assert.deepEqual([untouched?.id, untouched?.attempts, untouched?.lastError], [id, 0, null]);

      await jobs.fail(id, "first");
      await jobs.fail(id, "second");
      await jobs.retry(id, at(9), "third");
      assert.deepEqual(await jobs.counts(), { pending: new Map(), failed: new Map([["ping", 1]]) });
      // A failed job is out of the queue's sight; people see it in the table.
      const row = await db.get("SELECT attempts, last_error, run_at FROM jobs WHERE id = ?", [id]);
      assert.deepEqual({ ...row }, { attempts: 1, last_error: "first", run_at: at(0).getTime() }, "the failing attempt counted, once");
      assert.equal(await jobs.enqueue({ kind: "ping", key: "p", payload: "{}", runAt: at(0) }), false, "still there, failed");
    });

    test("counts give pending and failed jobs per kind", async () => {
      const store = await h.fresh();
      const { jobs } = store;
      assert.deepEqual(await jobs.counts(), { pending: new Map(), failed: new Map() });
      await queue(jobs, { kind: "tracker.note", key: "a", runAt: at(0) });
      await queue(jobs, { kind: "tracker.note", key: "b", runAt: at(0) });
      await queue(jobs, { kind: "ping", key: "c", runAt: at(500) });
      await jobs.fail(await dueId(jobs, "a"), "no");
      const b = await dueId(jobs, "b");
      assert.deepEqual(await jobs.counts(), {
        pending: new Map([
          ["ping", 1],
          ["tracker.note", 1],
        ]),
        failed: new Map([["tracker.note", 1]]),
      });
      await jobs.complete(b);
      await jobs.complete(b);
      assert.deepEqual(new Map((await jobs.counts()).pending), new Map([["ping", 1]]), "completed jobs are gone");
    });
  });

  describe("tracker notes", () => {
    test("notes are synced per ticket, once", async () => {
      const store = await h.fresh();
      const one = await openTicket(store, user("a"), room("r1"), 0);
      const two = await openTicket(store, user("b"), room("r2"), 0);
      assert.equal(await store.notes.isSynced(one.id, 10), false);
      await store.notes.markSynced(one.id, 10);
      await store.notes.markSynced(one.id, 10);
      assert.equal(await store.notes.isSynced(one.id, 10), true);
      assert.equal(await store.notes.isSynced(two.id, 10), false, "per ticket");
      assert.equal(await store.notes.isSynced(one.id, 11), false);
      await assert.rejects(store.notes.markSynced(parseTicketId(404), 1), isNotFound);
    });
  });
}
