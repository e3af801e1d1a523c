// The issue-tracker sync in the core, with a typed in-memory tracker: what each ticket event
// writes, what the poll relays, and how often it asks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError, RefusedError } from "../../src/core/errors.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { IssueTracker, TrackerIssue, TrackerIssueDetail, TrackerNote, TrackerStatus, TrackerUser } from "../../src/core/ports/issue-tracker.ts";
import { Scheduler } from "../../src/core/scheduler.ts";
import { closeTicket } from "../../src/core/usecases/close-ticket.ts";
import { nextCursor, pollTracker } from "../../src/core/usecases/tracker-poll.ts";
import { TRACKER_SUBSCRIBER, trackerJobHandlers } from "../../src/core/usecases/tracker-sync.ts";
import { Helpdesk } from "../../src/core/helpdesk.ts";
import { ChatDispatcher } from "../../src/chat/dispatcher.ts";
import { makeHelpdesk } from "../support/helpdesk-fixture.ts";

const ALICE = "@alice:example.com" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const ROOM = "!alice-dm:example.com" as RoomId;
const ME: TrackerUser = { id: 1, login: "honoroit" };
const PERSON = { authorId: 2, author: "Olive Operator" };

interface FakeIssue {
  subject: string;
  description: string;
  status: TrackerStatus;
  closed: boolean;
  updatedOn: Date;
  notes: TrackerNote[];
}

/** Redmine as a map of issues; every call is counted. */
class FakeTracker implements IssueTracker {
  readonly issues = new Map<number, FakeIssue>();
  readonly calls: string[] = [];
  refuse: Error | undefined;
  /** The next issue is created but its answer is lost (Redmine went away mid-request). */
  loseAnswer = false;
  private notes = 0;
  now = new Date("2026-01-01T00:00:00Z");

  currentUser(): Promise<TrackerUser> {
    this.calls.push("currentUser");
    return Promise.resolve(ME);
  }
  createIssue(subject: string, description: string): Promise<number> {
    this.calls.push("createIssue");
    if (this.refuse !== undefined) return Promise.reject(this.refuse);
    const id = this.issues.size + 100;
    this.issues.set(id, { subject, description, status: "new", closed: false, updatedOn: this.now, notes: [] });
    if (this.loseAnswer) {
      this.loseAnswer = false;
      return Promise.reject(new HonoroitError("UNREACHABLE", "connection reset"));
    }
    return Promise.resolve(id);
  }
  findIssue(marker: string): Promise<number | undefined> {
    this.calls.push("findIssue");
    return Promise.resolve([...this.issues].find(([, i]) => i.description.includes(marker))?.[0]);
  }
  updateIssue(id: number, change: { readonly note?: string; readonly status?: TrackerStatus }): Promise<void> {
    this.calls.push("updateIssue");
    const issue = this.issues.get(id);
    if (issue === undefined) return Promise.reject(new RefusedError("no such issue", { status: 404 }));
    if (change.note !== undefined) this.write(id, { authorId: ME.id, author: "Honoroit Bot", text: change.note, private: false });
    if (change.status !== undefined) issue.status = change.status;
    issue.closed = issue.status === "done";
    issue.updatedOn = this.now;
    return Promise.resolve();
  }
  issue(id: number): Promise<TrackerIssueDetail> {
    this.calls.push("issue");
    const issue = this.issues.get(id);
    if (issue === undefined) return Promise.reject(new RefusedError("no such issue", { status: 404 }));
    return Promise.resolve({ id, closed: issue.closed, updatedOn: issue.updatedOn, notes: [...issue.notes] });
  }
  updatedSince(since: Date): Promise<TrackerIssue[]> {
    this.calls.push("updatedSince");
    return Promise.resolve([...this.issues].filter(([, i]) => i.updatedOn.getTime() >= since.getTime() - 1000).map(([id, i]) => ({ id, closed: i.closed, updatedOn: i.updatedOn })));
  }
  /** A note as someone writes it in Redmine. */
  write(id: number, note: Omit<TrackerNote, "id">): void {
    const issue = this.issues.get(id);
    assert.ok(issue !== undefined);
    issue.notes.push({ id: ++this.notes, ...note });
    issue.updatedOn = this.now;
  }
}

async function world() {
  const h = await makeHelpdesk();
  const deps = { ...h.deps, subscribers: [TRACKER_SUBSCRIBER] };
  const desk = new Helpdesk(deps, new ChatDispatcher(deps));
  const tracker = new FakeTracker();
  const metrics = { errors: [] as string[], trackerError(cause: string) { this.errors.push(cause); }, trackerPolled() {} };
  const scheduler = new Scheduler({ store: h.store, clock: h.clock, logger: h.logger, metrics: { jobRun() {}, jobsQueued() {}, taskRun() {} } }, trackerJobHandlers(deps, { tracker, metrics }), []);
  return { ...h, deps, desk, tracker, metrics, scheduler };
}

describe("tracker sync: ticket events → the issue", () => {
  it("a request becomes an issue; messages notes with the status of who waits; a close the done status", async () => {
    const w = await world();
    await w.desk.handle(w.message(ROOM, ALICE, "my printer is on fire"));
    const ticket = await w.store.tickets.findOpenByRoom(ROOM);
    assert.ok(ticket?.threadRoot != null);
    await w.desk.handle(w.message(w.deps.operatorsRoom, OPERATOR, "step away", { threadRoot: ticket.threadRoot }));
    await w.scheduler.tick();
    const issueId = (await w.store.tickets.get(ticket.id))?.redmineIssueId;
    assert.ok(issueId != null);
    const issue = w.tracker.issues.get(issueId);
    assert.ok(issue !== undefined);
    assert.match(issue.subject, /^1st request from example\.com/);
    assert.match(issue.description, new RegExp(`^Request #1 from ${ALICE}`));
    assert.ok(issue.description.includes(`https://matrix.to/#/${encodeURIComponent(w.deps.operatorsRoom)}/`));
    // One job per tick and lane: run until the lane is empty.
    for (let i = 0; i < 3; i++) await w.scheduler.tick();
    assert.deepEqual(issue.notes.map((n) => n.text), [`${ALICE} (customer):\n\nmy printer is on fire`, `${OPERATOR} (operator):\n\nstep away`]);
    assert.equal(issue.status, "in-progress");
    await closeTicket(w.deps, ticket.id, "operator");
    await w.scheduler.tick();
    assert.equal(issue.status, "done");
  });

  it("a refusal is told once in the thread and not tried again; Redmine down is retried", async () => {
    const w = await world();
    w.tracker.refuse = new HonoroitError("UNREACHABLE", "Redmine is down");
    await w.desk.handle(w.message(ROOM, ALICE, "hello"));
    await w.scheduler.tick();
    assert.deepEqual(w.metrics.errors, ["unavailable"]);
    assert.equal((await w.store.jobs.counts()).pending.get("redmine.opened"), 1, "kept for a retry");
    w.tracker.refuse = new RefusedError("Redmine refused POST /issues.json with 422: Project cannot be blank", { status: 422 });
    w.clock.advance(60_000);
    await w.scheduler.tick();
    w.clock.advance(60_000);
    await w.scheduler.tick();
    assert.equal((await w.store.jobs.counts()).failed.get("redmine.opened"), 1);
    const notices = w.messenger.sentTo(w.deps.operatorsRoom).filter((m) => m.body.startsWith("Redmine refused"));
    assert.deepEqual(notices.map((m) => m.body), ["Redmine refused an issue for this request: Redmine refused POST /issues.json with 422: Project cannot be blank. It is not tried again."]);
  });
});

describe("tracker sync: answers lost on the way", () => {
  it("an issue created by an attempt whose answer was lost is found, not created twice", async () => {
    const w = await world();
    w.tracker.loseAnswer = true;
    await w.desk.handle(w.message(ROOM, ALICE, "hello"));
    await w.scheduler.tick();
    assert.equal(w.tracker.issues.size, 1);
    w.clock.advance(60_000);
    await w.scheduler.tick();
    assert.equal(w.tracker.issues.size, 1, "no second issue");
    const ticket = await w.store.tickets.findOpenByRoom(ROOM);
    assert.equal(ticket?.redmineIssueId, [...w.tracker.issues.keys()][0]);
  });
});

describe("tracker sync: the poll", () => {
  it("relays people's notes once (public ones to the customer too), skips its own, closes on a closed issue", async () => {
    const w = await world();
    await w.desk.handle(w.message(ROOM, ALICE, "hello"));
    for (let i = 0; i < 3; i++) await w.scheduler.tick();
    const ticket = await w.store.tickets.findOpenByRoom(ROOM);
    const issueId = ticket?.redmineIssueId;
    assert.ok(ticket != null && issueId != null);
    w.tracker.now = new Date(w.clock.now().getTime() + 60_000);
    w.tracker.write(issueId, { ...PERSON, text: "on our way", private: false });
    w.tracker.write(issueId, { ...PERSON, text: "bill them", private: true });
    w.tracker.write(issueId, { ...PERSON, text: "", private: false });
    const sync = { tracker: w.tracker, metrics: w.metrics };
    await pollTracker(w.deps, sync);
    await pollTracker(w.deps, sync);
    const thread = w.messenger.sentTo(w.deps.operatorsRoom).map((m) => m.body);
    assert.equal(thread.filter((b) => b === "Olive Operator in Redmine:\non our way").length, 1);
    assert.equal(thread.filter((b) => b === "Olive Operator in Redmine (private note, not sent to the customer):\nbill them").length, 1);
    assert.ok(!thread.some((b) => b.includes("(customer):")), "the bot's own notes are not relayed back");
    const customer = w.messenger.sentTo(ROOM).map((m) => m.body);
    assert.equal(customer.filter((b) => b === "on our way").length, 1);
    assert.ok(!customer.includes("bill them"));

    w.tracker.now = new Date(w.clock.now().getTime() + 120_000);
    const issue = w.tracker.issues.get(issueId);
    assert.ok(issue !== undefined);
    issue.closed = true;
    issue.updatedOn = w.tracker.now;
    await pollTracker(w.deps, sync);
    assert.equal((await w.store.tickets.get(ticket.id))?.closeReason, "redmine");
  });

  it("asks once per poll when nothing changed, however many tickets are open", async () => {
    const w = await world();
    for (let i = 0; i < 20; i++) {
      await w.desk.handle(w.message(`!room${i}:example.com` as RoomId, `@c${i}:example.com` as UserId, "hi"));
    }
    for (let i = 0; i < 30; i++) await w.scheduler.tick();
    const sync = { tracker: w.tracker, metrics: w.metrics };
    await pollTracker(w.deps, sync);
    await pollTracker(w.deps, sync);
    w.tracker.calls.length = 0;
    await pollTracker(w.deps, sync);
    assert.deepEqual(w.tracker.calls, ["updatedSince"]);
  });

  it("the cursor moves to the newest change and reads an issue at the boundary twice before trusting it", () => {
    const at = new Date("2026-01-01T00:00:10Z");
    const first = nextCursor({ since: "2026-01-01T00:00:00.000Z", seen: {} }, [{ id: 1, closed: false, updatedOn: at }, { id: 2, closed: false, updatedOn: new Date("2026-01-01T00:00:05Z") }]);
    assert.equal(first.since, at.toISOString());
    assert.deepEqual(first.seen, { 1: { at: at.toISOString(), looks: 1 } });
    const second = nextCursor(first, [{ id: 1, closed: false, updatedOn: at }]);
    assert.deepEqual(second.seen, { 1: { at: at.toISOString(), looks: 2 } });
    assert.equal(nextCursor(second, []).since, at.toISOString());
  });
});
