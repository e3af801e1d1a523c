// The issue-tracker sync in the core, with a typed in-memory tracker: what each ticket event
// writes, what the poll relays, and how often it asks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError, RefusedError } from "../../src/core/errors.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import type { MessageBody } from "../../src/core/events.ts";
import type { IssueTracker, TrackerChange, TrackerIssue, TrackerIssueDetail, TrackerNote, TrackerStatus, TrackerUser } from "../../src/core/ports/issue-tracker.ts";
import type { MediaSource } from "../../src/core/ports/media.ts";
import { ticketFileOf } from "../../src/core/ticket-events.ts";
import { Scheduler } from "../../src/core/scheduler.ts";
import { closeTicket } from "../../src/core/usecases/close-ticket.ts";
import { nextCursor, pollTracker } from "../../src/core/usecases/tracker-poll.ts";
import { MAX_ATTACHMENT_BYTES, TRACKER_SUBSCRIBER, trackerJobHandlers } from "../../src/core/usecases/tracker-sync.ts";
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
  /** Files attached, with the note they came with. */
  attachments: { note: number; filename: string; contentType: string | undefined; bytes: Uint8Array }[];
}

/** Redmine as a map of issues; every call is counted. */
class FakeTracker implements IssueTracker {
  readonly issues = new Map<number, FakeIssue>();
  readonly calls: string[] = [];
  refuse: Error | undefined;
  /** The next issue is created but its answer is lost (Redmine went away mid-request). */
  loseAnswer = false;
  /** The next change is made but its answer is lost. */
  loseUpdateAnswer = false;
  /** The next change fails before it is made (Redmine down). */
  failNextUpdate = false;
  /** Redmine's file size limit. */
  maxUpload = 5 * 1024 * 1024;
  /** Uploads not attached yet, by token: a token attaches once. */
  readonly uploads = new Map<string, { filename: string; bytes: Uint8Array }>();
  uploadCount = 0;
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
    this.issues.set(id, { subject, description, status: "new", closed: false, updatedOn: this.now, notes: [], attachments: [] });
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
  updateIssue(id: number, change: TrackerChange): Promise<void> {
    this.calls.push("updateIssue");
    const issue = this.issues.get(id);
    if (issue === undefined) return Promise.reject(new RefusedError("no such issue", { status: 404 }));
    if (this.failNextUpdate) {
      this.failNextUpdate = false;
      return Promise.reject(new HonoroitError("UNREACHABLE", "connection refused"));
    }
    const files: FakeIssue["attachments"] = [];
    for (const a of change.attachments ?? []) {
      const upload = this.uploads.get(a.token);
      if (upload === undefined) return Promise.reject(new RefusedError(`Redmine refused PUT with 422: no upload ${a.token}`, { status: 422 }));
      this.uploads.delete(a.token);
      files.push({ note: 0, filename: a.filename, contentType: a.contentType, bytes: upload.bytes });
    }
    if (change.note !== undefined) this.write(id, { authorId: ME.id, author: "Honoroit Bot", text: change.note, private: false });
    for (const file of files) issue.attachments.push({ ...file, note: this.notes });
    if (change.status !== undefined) issue.status = change.status;
    issue.closed = issue.status === "done";
    issue.updatedOn = this.now;
    if (this.loseUpdateAnswer) {
      this.loseUpdateAnswer = false;
      return Promise.reject(new HonoroitError("UNREACHABLE", "connection reset"));
    }
    return Promise.resolve();
  }
  upload(filename: string, bytes: Uint8Array): Promise<string> {
    this.calls.push("upload");
    if (bytes.byteLength > this.maxUpload) {
      return Promise.reject(new RefusedError(`Redmine refused it: This file cannot be uploaded because it exceeds the maximum allowed file size (${this.maxUpload})`, { status: 422 }));
    }
    const token = `${++this.uploadCount}.token`;
    this.uploads.set(token, { filename, bytes });
    return Promise.resolve(token);
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

/** The homeserver's media repository as a map of mxc URIs to bytes; downloads are counted. */
class FakeMedia implements MediaSource {
  readonly files = new Map<string, Uint8Array>();
  readonly downloads: string[] = [];
  /** The keys each download was given, for files sent in encrypted rooms. */
  readonly keys: (Readonly<Record<string, unknown>> | undefined)[] = [];
  down = false;
  download(mxc: string, maxBytes: number, encryption?: Readonly<Record<string, unknown>>): Promise<Uint8Array> {
    this.downloads.push(mxc);
    this.keys.push(encryption);
    if (this.down) return Promise.reject(new HonoroitError("UNREACHABLE", "homeserver unreachable"));
    const bytes = this.files.get(mxc);
    if (bytes === undefined) return Promise.reject(new RefusedError(`the homeserver refused ${mxc} (M_NOT_FOUND: Not found)`, { errcode: "M_NOT_FOUND", status: 404 }));
    if (bytes.byteLength > maxBytes) return Promise.reject(new HonoroitError("BAD_DATA", "too many bytes"));
    return Promise.resolve(bytes);
  }
}

async function world() {
  const h = await makeHelpdesk();
  const deps = { ...h.deps, subscribers: [TRACKER_SUBSCRIBER] };
  const desk = new Helpdesk(deps, new ChatDispatcher(deps));
  const tracker = new FakeTracker();
  const media = new FakeMedia();
  const metrics = { errors: [] as string[], trackerError(cause: string) { this.errors.push(cause); }, trackerPolled() {} };
  const scheduler = new Scheduler({ store: h.store, clock: h.clock, logger: h.logger, metrics: { jobRun() {}, jobsQueued() {}, taskRun() {} } }, trackerJobHandlers(deps, { tracker, metrics, media }), []);
  /** Runs the outbox until nothing is left to do now (one job per lane and tick). */
  const drain = async (): Promise<void> => {
    for (let i = 0; i < 10; i++) await w.scheduler.tick();
  };
  const w = { ...h, deps, desk, tracker, media, metrics, scheduler, drain };
  return w;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const image = (name: string, mxc: string, size?: number): MessageBody => ({ msgtype: "m.image", body: name, media: { url: mxc, info: { mimetype: "image/png", ...(size === undefined ? {} : { size }) } } });

/** The customer's request is open with its issue; returns the thread root and the issue. */
async function openWithIssue(w: Awaited<ReturnType<typeof world>>, text = "hello") {
  await w.desk.handle(w.message(ROOM, ALICE, text));
  await w.drain();
  const ticket = await w.store.tickets.findOpenByRoom(ROOM);
  const issue = ticket?.redmineIssueId == null ? undefined : w.tracker.issues.get(ticket.redmineIssueId);
  assert.ok(ticket?.threadRoot != null && issue !== undefined);
  return { ticket, root: ticket.threadRoot, issue };
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

describe("tracker sync: files → attachments", () => {
  it("a customer's image and an operator's file are attached to their notes, with their bytes, names and types", async () => {
    const w = await world();
    const { root, issue } = await openWithIssue(w);
    w.media.files.set("mxc://example.com/cat", bytes("PNG cat"));
    w.media.files.set("mxc://example.com/manual", bytes("%PDF manual"));
    await w.desk.handle(w.message(ROOM, ALICE, image("cat.png", "mxc://example.com/cat", 7)));
    await w.desk.handle(w.message(w.deps.operatorsRoom, OPERATOR, { msgtype: "m.file", body: "Read this first", media: { url: "mxc://example.com/manual", filename: "manual.pdf", info: { mimetype: "application/pdf" } } }, { threadRoot: root }));
    await w.drain();
    assert.deepEqual(issue.notes.map((n) => n.text), [`${ALICE} (customer):\n\nhello`, `${ALICE} (customer):\n\ncat.png`, `${OPERATOR} (operator):\n\nRead this first`]);
    const [cat, manual] = issue.attachments;
    assert.deepEqual(issue.attachments.map((a) => [a.note, a.filename, a.contentType]), [[issue.notes[1]?.id, "cat.png", "image/png"], [issue.notes[2]?.id, "manual.pdf", "application/pdf"]]);
    assert.deepEqual(cat?.bytes, bytes("PNG cat"));
    assert.deepEqual(manual?.bytes, bytes("%PDF manual"));
    assert.equal(issue.status, "in-progress");
    assert.equal((await w.store.jobs.counts()).failed.size, 0);
  });

  it("a file over Redmine's limit becomes a note naming it and saying why, not a stuck job", async () => {
    const w = await world();
    const { issue } = await openWithIssue(w);
    w.tracker.maxUpload = 10;
    w.media.files.set("mxc://example.com/big", bytes("far more than ten bytes"));
    await w.desk.handle(w.message(ROOM, ALICE, image("big.png", "mxc://example.com/big", 23)));
    await w.desk.handle(w.message(ROOM, ALICE, "and a word after it"));
    await w.drain();
    assert.deepEqual(issue.notes.map((n) => n.text).slice(1), [
      `${ALICE} (customer):\n\nbig.png\n\n(File "big.png", 23 bytes, is not attached: Redmine refused it: This file cannot be uploaded because it exceeds the maximum allowed file size (10))`,
      `${ALICE} (customer):\n\nand a word after it`,
    ]);
    assert.deepEqual(issue.attachments, []);
    const counts = await w.store.jobs.counts();
    assert.equal(counts.pending.size + counts.failed.size, 0, "nothing waits or failed");
    assert.ok(!w.messenger.sentTo(w.deps.operatorsRoom).some((m) => m.body.startsWith("Redmine refused")), "the thread is not told of a refusal");
  });

  it("a file the homeserver does not have, or one declared larger than the bot carries, is named in the note; the latter is not even fetched", async () => {
    const w = await world();
    const { issue } = await openWithIssue(w);
    await w.desk.handle(w.message(ROOM, ALICE, image("gone.png", "mxc://example.com/gone")));
    await w.desk.handle(w.message(ROOM, ALICE, image("huge.png", "mxc://example.com/huge", MAX_ATTACHMENT_BYTES + 1)));
    await w.drain();
    assert.deepEqual(issue.notes.map((n) => n.text).slice(1), [
      `${ALICE} (customer):\n\ngone.png\n\n(File "gone.png" is not attached: it could not be fetched from the homeserver (the homeserver refused mxc://example.com/gone (M_NOT_FOUND: Not found)))`,
      `${ALICE} (customer):\n\nhuge.png\n\n(File "huge.png", 100.0 MB, is not attached: it is larger than the 100.0 MB the bot carries to Redmine)`,
    ]);
    assert.deepEqual(w.media.downloads, ["mxc://example.com/gone"]);
  });

  it("the homeserver down delays the note until it is back; a change lost on the way uploads again", async () => {
    const w = await world();
    const { issue } = await openWithIssue(w);
    w.media.files.set("mxc://example.com/cat", bytes("PNG cat"));
    w.media.down = true;
    await w.desk.handle(w.message(ROOM, ALICE, image("cat.png", "mxc://example.com/cat")));
    await w.drain();
    assert.equal(issue.notes.length, 1, "no note without its file while the homeserver is down");
    assert.equal(w.metrics.errors.at(-1), "unavailable");
    w.media.down = false;
    // Uploaded, then Redmine goes away before the change: the token is never used.
    w.tracker.failNextUpdate = true;
    w.clock.advance(60_000);
    await w.drain();
    assert.equal(issue.notes.length, 1);
    assert.equal(w.tracker.uploads.size, 1, "one upload left unused");
    w.clock.advance(60_000);
    await w.drain();
    assert.deepEqual(issue.notes.map((n) => n.text).slice(1), [`${ALICE} (customer):\n\ncat.png`]);
    assert.deepEqual(issue.attachments.map((a) => a.filename), ["cat.png"]);
    assert.equal(w.tracker.uploadCount, 2, "uploaded again for the retry");
  });

  it("a change made whose answer was lost is not made twice: no second note, no second file", async () => {
    const w = await world();
    const { issue } = await openWithIssue(w);
    w.media.files.set("mxc://example.com/cat", bytes("PNG cat"));
    w.tracker.loseUpdateAnswer = true;
    await w.desk.handle(w.message(ROOM, ALICE, image("cat.png", "mxc://example.com/cat")));
    await w.drain();
    w.clock.advance(60_000);
    await w.drain();
    assert.deepEqual(issue.notes.map((n) => n.text).slice(1), [`${ALICE} (customer):\n\ncat.png`]);
    assert.equal(issue.attachments.length, 1);
    assert.equal(w.tracker.uploadCount, 1);
    // Likewise for a note that says why its file is not attached.
    w.tracker.maxUpload = 1;
    w.tracker.loseUpdateAnswer = true;
    await w.desk.handle(w.message(ROOM, ALICE, image("cat again.png", "mxc://example.com/cat")));
    await w.drain();
    w.clock.advance(60_000);
    await w.drain();
    assert.equal(issue.notes.filter((n) => n.text.includes("cat again.png")).length, 1);
  });

  it("a file sent in an encrypted room is fetched with its keys (from the job, across restarts) and attached", async () => {
    const w = await world();
    const { issue } = await openWithIssue(w);
    const keys = { key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2" };
    w.media.files.set("mxc://example.com/secret", bytes("%PDF secret"));
    await w.desk.handle(w.message(ROOM, ALICE, { msgtype: "m.file", body: "secret.pdf", media: { url: "mxc://example.com/secret", encryption: keys } }));
    await w.drain();
    assert.deepEqual(w.media.keys, [keys]);
    assert.deepEqual(issue.attachments.map((a) => [a.filename, Buffer.from(a.bytes).toString()]), [["secret.pdf", "%PDF secret"]]);
  });

  it("what a job carries of a file: its mxc, its name (filename, else the body), type and declared size", () => {
    const cases: { content: MessageBody; expected: ReturnType<typeof ticketFileOf> }[] = [
      { content: image("cat.png", "mxc://a/b", 7), expected: { mxc: "mxc://a/b", name: "cat.png", mimetype: "image/png", size: 7 } },
      { content: { msgtype: "m.file", body: "caption", media: { url: "mxc://a/c", filename: "x.pdf" } }, expected: { mxc: "mxc://a/c", name: "x.pdf" } },
      { content: { msgtype: "m.video", body: "v.mp4", media: { url: "mxc://a/v", info: { size: -1, mimetype: 3 } } }, expected: { mxc: "mxc://a/v", name: "v.mp4" } },
      { content: { msgtype: "m.text", body: "hi" }, expected: undefined },
      { content: { msgtype: "m.notice", body: "n", media: { url: "mxc://a/n" } }, expected: undefined },
      { content: { msgtype: "m.file", body: "f", media: { url: "https://example.com/f" } }, expected: undefined },
      { content: { msgtype: "m.file", body: "s.pdf", media: { url: "mxc://a/s", encryption: { iv: "IV" } } }, expected: { mxc: "mxc://a/s", name: "s.pdf", encryption: { iv: "IV" } } },
    ];
    for (const { content, expected } of cases) assert.deepEqual(ticketFileOf(content), expected, JSON.stringify(content));
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
