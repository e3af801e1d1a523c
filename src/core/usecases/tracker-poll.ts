// The issue tracker → Matrix: notes written by people and issues closed there. One list
// request per poll asks for the issues changed since a cursor; only those are read in full.
// Each note is relayed once (TrackerNotes, and keyed sends for a crash in between); the
// cursor is saved after a poll that went through, so a failed one is simply done again.
import { sendOnce, type HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { IssueTracker, TrackerIssue, TrackerMetrics, TrackerNote } from "../ports/issue-tracker.ts";
import type { Ticket } from "../ticket.ts";
import { closeTicket } from "./close-ticket.ts";

const STATE_NAMESPACE = "redmine";
const CURSOR_KEY = "cursor";

/**
 * Where the poll stands: issues changed at or after `since` are asked for, and `seen` holds
 * those already read at the time they show (`updatedOn`, and how often): the tracker matches
 * up to a second early, and a change within the same second as the last one seen is caught by
 * reading an issue a second time before trusting its time.
 */
interface Cursor {
  readonly since: string;
  readonly seen: Readonly<Record<string, { readonly at: string; readonly looks: number }>>;
}

/** What one poll did. */
export interface PollResult {
  readonly changed: number;
  readonly notes: number;
  readonly closed: number;
}

export interface TrackerPollDeps {
  readonly tracker: IssueTracker;
  readonly metrics: TrackerMetrics;
}

/** One poll: relays new notes of changed issues to their tickets and closes tickets of closed issues. */
export async function pollTracker(deps: HelpdeskDeps, sync: TrackerPollDeps): Promise<PollResult> {
  const cursor = await loadCursor(deps);
  const issues = await sync.tracker.updatedSince(new Date(cursor.since));
  const fresh = issues
    .filter((i) => (cursor.seen[i.id]?.at !== i.updatedOn.toISOString() || (cursor.seen[i.id]?.looks ?? 0) < 2))
    .sort((a, b) => a.updatedOn.getTime() - b.updatedOn.getTime() || a.id - b.id);
  let notes = 0;
  let closed = 0;
  for (const issue of fresh) {
    const ticket = await deps.store.tickets.findByIssue(issue.id);
    if (ticket?.status !== "open") continue;
    const done = await syncIssue(deps, sync.tracker, ticket, issue.id);
    notes += done.notes;
    if (done.closed) closed++;
  }
  await saveCursor(deps, nextCursor(cursor, issues));
  sync.metrics.trackerPolled(deps.clock.now());
  return { changed: fresh.length, notes, closed };
}

/**
 * Brings one ticket up to date with its issue: relays the notes not relayed yet (people's,
 * with words), then closes the ticket if the issue is closed. Used by the poll and resync.
 */
export async function syncIssue(deps: HelpdeskDeps, tracker: IssueTracker, ticket: Ticket, issueId: number, options: { readonly dryRun?: boolean } = {}): Promise<{ notes: number; closed: boolean }> {
  const me = await tracker.currentUser();
  const issue = await tracker.issue(issueId);
  let notes = 0;
  for (const note of issue.notes) {
    if (note.authorId === me.id || note.text.trim() === "") continue;
    if (await deps.store.notes.isSynced(ticket.id, note.id)) continue;
    notes++;
    if (options.dryRun === true) continue;
    await relayNote(deps, ticket, note);
    await deps.store.notes.markSynced(ticket.id, note.id);
  }
  if (!issue.closed || ticket.status !== "open") return { notes, closed: false };
  if (options.dryRun === true) return { notes, closed: true };
  try {
    await closeTicket(deps, ticket.id, "redmine");
    deps.logger.info("request closed because its Redmine issue was closed", { ticket: ticket.id, issue: issueId });
    return { notes, closed: true };
  } catch (error) {
    // Closed meanwhile in Matrix: nothing to do.
    if (error instanceof HonoroitError && error.code === "CONFLICT") return { notes, closed: false };
    throw error;
  }
}

/** A note in the thread, and a public one also to the customer, each once. */
async function relayNote(deps: HelpdeskDeps, ticket: Ticket, note: TrackerNote): Promise<void> {
  if (ticket.threadRoot !== null) {
    const label = note.private ? `${note.author} in Redmine (private note, not sent to the customer)` : `${note.author} in Redmine`;
    await sendOnce(deps, deps.operatorsRoom, { msgtype: "m.text", body: `${label}:\n${note.text}`, threadRoot: ticket.threadRoot, mentions: [] }, `tracker-note:${ticket.id}:${note.id}`);
  }
  if (!note.private) {
    await sendOnce(deps, ticket.customerRoom, { msgtype: "m.text", body: note.text, mentions: [] }, `tracker-note-customer:${ticket.id}:${note.id}`);
  }
}

async function loadCursor(deps: HelpdeskDeps): Promise<Cursor> {
  const saved = await deps.store.kv.get(STATE_NAMESPACE, CURSOR_KEY);
  if (saved !== undefined) return JSON.parse(saved) as Cursor;
  // The first poll looks back a minute; what came before is `redmine resync`'s.
  return { since: new Date(deps.clock.now().getTime() - 60_000).toISOString(), seen: {} };
}

async function saveCursor(deps: HelpdeskDeps, cursor: Cursor): Promise<void> {
  await deps.store.kv.set(STATE_NAMESPACE, CURSOR_KEY, JSON.stringify(cursor));
}

/** The cursor after a poll: the newest change seen, and what was seen from a second before it on. */
export function nextCursor(previous: Cursor, issues: readonly TrackerIssue[]): Cursor {
  const newest = Math.max(new Date(previous.since).getTime(), ...issues.map((i) => i.updatedOn.getTime()));
  const seen: Record<string, { at: string; looks: number }> = {};
  for (const issue of issues) {
    if (issue.updatedOn.getTime() < newest - 1000) continue;
    const at = issue.updatedOn.toISOString();
    const before = previous.seen[issue.id];
    seen[issue.id] = { at, looks: before?.at === at ? before.looks + 1 : 1 };
  }
  return { since: new Date(newest).toISOString(), seen };
}
