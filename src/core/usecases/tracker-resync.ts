// `honoroit redmine resync`: what the sync may have missed (a request opened before it was on,
// notes written while it was off, a status out of step), found by reading, then done through
// the same outbox serve uses, so it never races serve: jobs in each ticket's lane.
import { randomUUID } from "node:crypto";
import type { HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { TicketId } from "../ids.ts";
import type { Job, Store } from "../ports.ts";
import type { IssueTracker } from "../ports/issue-tracker.ts";
import type { JobHandler } from "../scheduler.ts";
import { ticketJobs } from "../ticket-events.ts";
import type { Ticket } from "../ticket.ts";
import { syncIssue } from "./tracker-poll.ts";
import { TRACKER_MAX_BACKOFF_MS, TRACKER_SUBSCRIBER } from "./tracker-sync.ts";

/** The job that brings one ticket in step with its issue. */
export const RESYNC_JOB = `${TRACKER_SUBSCRIBER}.resync`;

/** What resync finds for one request. */
export interface ResyncItem {
  readonly ticket: number;
  readonly status: Ticket["status"];
  readonly issue: number | null;
  /** What is to be done, in words; empty when it is in step. */
  readonly actions: readonly string[];
}

/** Reads the requests (the open ones, or the one asked for) and their issues; changes nothing. */
export async function planResync(store: Store, tracker: IssueTracker, only?: TicketId, progress?: (checked: number, total: number) => void): Promise<ResyncItem[]> {
  let tickets: Ticket[];
  if (only === undefined) {
    tickets = (await store.tickets.list({ status: "open" })).reverse();
  } else {
    const ticket = await store.tickets.get(only);
    if (ticket === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${only}`);
    tickets = [ticket];
  }
  const me = await tracker.currentUser();
  const items: ResyncItem[] = [];
  for (const ticket of tickets) {
    progress?.(items.length, tickets.length);
    const actions: string[] = [];
    if (ticket.redmineIssueId === null) {
      if (ticket.status === "open") actions.push("create its issue");
      items.push({ ticket: ticket.id, status: ticket.status, issue: null, actions });
      continue;
    }
    const issue = await tracker.issue(ticket.redmineIssueId);
    let unsynced = 0;
    for (const note of issue.notes) {
      if (note.authorId === me.id || note.text.trim() === "" || ticket.status !== "open") continue;
      if (!(await store.notes.isSynced(ticket.id, note.id))) unsynced++;
    }
    if (unsynced > 0) actions.push(`relay ${unsynced} note(s) to the thread`);
    if (issue.closed && ticket.status === "open") actions.push("close the request (its issue is closed)");
    if (!issue.closed && ticket.status === "closed") actions.push("mark the issue done");
    items.push({ ticket: ticket.id, status: ticket.status, issue: ticket.redmineIssueId, actions });
  }
  progress?.(items.length, tickets.length);
  return items;
}

/** Queues the work of a plan in each ticket's lane; returns the keys of the jobs queued. */
export async function queueResync(store: Store, items: readonly ResyncItem[], at: Date): Promise<string[]> {
  const keys: string[] = [];
  const run = randomUUID();
  for (const item of items) {
    if (item.actions.length === 0) continue;
    const ticket = item.ticket as TicketId;
    const jobs = item.issue === null
      ? ticketJobs([TRACKER_SUBSCRIBER], { type: "opened", ticket }, at)
      : [{ kind: RESYNC_JOB, key: `${TRACKER_SUBSCRIBER}:${ticket}:resync:${run}`, lane: `${TRACKER_SUBSCRIBER}:ticket:${ticket}`, payload: JSON.stringify({ ticket }), runAt: at }];
    for (const job of jobs) {
      await store.jobs.enqueue(job);
      keys.push(job.key);
    }
  }
  return keys;
}

/** Runs a queued resync of one ticket: notes not relayed yet, then the status either way. */
export function resyncHandler(deps: HelpdeskDeps, tracker: IssueTracker): JobHandler {
  return {
    kind: RESYNC_JOB,
    maxBackoffMs: TRACKER_MAX_BACKOFF_MS,
    async run(job: Job) {
      const { ticket: id } = JSON.parse(job.payload) as { ticket: TicketId };
      const ticket = await deps.store.tickets.get(id);
      if (ticket?.redmineIssueId == null) return;
      if (ticket.status === "open") {
        await syncIssue(deps, tracker, ticket, ticket.redmineIssueId);
        return;
      }
      const issue = await tracker.issue(ticket.redmineIssueId);
      if (!issue.closed) await tracker.updateIssue(ticket.redmineIssueId, { status: "done" });
    },
  };
}
