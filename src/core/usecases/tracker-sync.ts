// Ticket events → the issue tracker: the job handlers of subscriber "redmine". Each runs in
// its ticket's lane of the outbox, so an issue sees a ticket's events in the order they
// happened, and a tracker that is down only delays them (retried with backoff by the
// scheduler). A refusal (the project deleted, no permission) is final: it is told once in the
// thread and logged, and the job is kept as failed. A file sent with a message is fetched from
// the homeserver and attached to the message's note; a file that cannot be (too large for
// the tracker, gone from the homeserver) is named in the note with the reason, and the note
// is written all the same.
import type { HelpdeskDeps } from "../deps.ts";
import { failureCause, HonoroitError, messageOf, RefusedError } from "../errors.ts";
import type { Job } from "../ports.ts";
import type { IssueTracker, TrackerAttachment, TrackerMetrics, TrackerStatus } from "../ports/issue-tracker.ts";
import type { MediaSource } from "../ports/media.ts";
import type { JobHandler } from "../scheduler.ts";
import { ticketJobKind, type TicketEvent, type TicketFile } from "../ticket-events.ts";
import type { Ticket } from "../ticket.ts";
import { threadNotice } from "./notices.ts";

/** The subscriber name of the issue tracker: its jobs are `redmine.opened`, … */
export const TRACKER_SUBSCRIBER = "redmine";

/** The longest wait between two attempts at a change for the tracker. */
export const TRACKER_MAX_BACKOFF_MS = 60_000;

/** The largest file carried to the tracker: it is held in memory on its way there. */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;

/** What the issue-tracker sync needs besides the helpdesk. */
export interface TrackerSyncDeps {
  readonly tracker: IssueTracker;
  readonly metrics: TrackerMetrics;
  /** Where files sent in Matrix are fetched from; without it a file is only named in its note. */
  readonly media?: MediaSource;
}

type EventOf<T extends TicketEvent["type"]> = Extract<TicketEvent, { type: T }>;
type Action<T extends TicketEvent["type"]> = (deps: HelpdeskDeps, sync: TrackerSyncDeps, ticket: Ticket, event: EventOf<T>, job: Job) => Promise<void>;

/** What each ticket event does to the ticket's issue. */
const ACTIONS: { readonly [T in TicketEvent["type"]]: Action<T> } = {
  opened: async (deps, sync, ticket, _event, job) => {
    if (ticket.redmineIssueId !== null) return;
    const description = issueDescription(deps, ticket, await deps.profiles.nameOf(ticket.customer));
    // An attempt whose answer was lost may have created the issue: its first line names the request.
    const found = job.attempts > 0 ? await sync.tracker.findIssue(description.split("\n")[0] ?? description) : undefined;
    const issue = found ?? (await sync.tracker.createIssue(issueSubject(deps, ticket), description));
    await deps.store.tickets.setIssue(ticket.id, issue);
    deps.logger.info("Redmine issue created", { ticket: ticket.id, issue });
  },
  "customer-message": (deps, sync, ticket, event, job) => addNote(deps, sync, ticket, { text: noteText("customer", event), file: event.file }, "new", job),
  "operator-message": (deps, sync, ticket, event, job) => addNote(deps, sync, ticket, { text: noteText("operator", event), file: event.file }, "in-progress", job),
  closed: async (deps, sync, ticket, event) => {
    // Closed because the issue was closed there: nothing to tell it.
    if (event.reason === "redmine" || ticket.redmineIssueId === null) return;
    await sync.tracker.updateIssue(ticket.redmineIssueId, { status: "done" });
  },
};

/** The job handlers of the issue-tracker subscriber, one per ticket event type. */
export function trackerJobHandlers(deps: HelpdeskDeps, sync: TrackerSyncDeps): JobHandler[] {
  return (Object.keys(ACTIONS) as TicketEvent["type"][]).map((type) => ({
    kind: ticketJobKind(TRACKER_SUBSCRIBER, type),
    // Once Redmine is back after a long outage, what waited reaches it within a minute.
    maxBackoffMs: TRACKER_MAX_BACKOFF_MS,
    run: (job) => runTicketJob(deps, sync, job),
  }));
}

async function runTicketJob(deps: HelpdeskDeps, sync: TrackerSyncDeps, job: Job): Promise<void> {
  const event = JSON.parse(job.payload) as TicketEvent;
  const ticket = await deps.store.tickets.get(event.ticket);
  if (ticket === undefined) return;
  try {
    await (ACTIONS[event.type] as Action<TicketEvent["type"]>)(deps, sync, ticket, event, job);
  } catch (error) {
    const cause = failureCause(error);
    sync.metrics.trackerError(cause);
    if (cause === "final") await reportRefusal(deps, ticket, job, error);
    throw error;
  }
}

/** How a refusal names what was refused. */
const WHAT: { readonly [T in TicketEvent["type"]]: string } = {
  opened: "an issue for this request",
  "customer-message": "a note of the customer's message",
  "operator-message": "a note of an operator's message",
  closed: "to mark the issue done",
};

/** A refusal, told once in the thread (the scheduler logs it and keeps the job as failed). */
async function reportRefusal(deps: HelpdeskDeps, ticket: Ticket, job: Job, error: unknown): Promise<void> {
  const what = WHAT[(JSON.parse(job.payload) as TicketEvent).type];
  try {
    await threadNotice(deps, ticket, `Redmine refused ${what}: ${messageOf(error)}. It is not tried again.`, `tracker-refused:${job.key}`);
  } catch (noticeError) {
    deps.logger.warn("could not tell the thread that Redmine refused a change", { ticket: ticket.id, error: messageOf(noticeError) });
  }
}

/** A message as its note: its text, and the file it carries. */
interface MessageNote {
  readonly text: string;
  readonly file: TicketFile | undefined;
}

async function addNote(deps: HelpdeskDeps, sync: TrackerSyncDeps, ticket: Ticket, note: MessageNote, status: TrackerStatus, job: Job): Promise<void> {
  // A ticket opened before the sync was on has no issue: `redmine resync` makes one.
  if (ticket.redmineIssueId === null) return;
  // An attempt whose answer was lost (Redmine went away mid-request) may have written the
  // note, with its file: if our newest note there is this one, only the status is left to set.
  if (job.attempts > 0 && isWritten(await newestNoteOfOurs(sync, ticket.redmineIssueId), note)) {
    await sync.tracker.updateIssue(ticket.redmineIssueId, { status });
    return;
  }
  // Uploaded anew on every attempt: a token attaches once, and after a lost answer there is
  // no telling whether the last one was used.
  const carried = note.file === undefined ? undefined : await carryFile(deps, sync, ticket, note.file);
  if (carried !== undefined && "remark" in carried) {
    await sync.tracker.updateIssue(ticket.redmineIssueId, { note: `${note.text}\n\n${carried.remark}`, status });
    return;
  }
  await sync.tracker.updateIssue(ticket.redmineIssueId, { note: note.text, status, ...(carried === undefined ? {} : { attachments: [carried.attachment] }) });
}

/** Whether our newest note is this message's (with its file, or saying why it is not attached). */
function isWritten(newest: string | undefined, note: MessageNote): boolean {
  if (newest === undefined) return false;
  if (newest === note.text) return true;
  return note.file !== undefined && newest.startsWith(`${note.text}\n\n${notAttachedPrefix(note.file)}`);
}

/**
 * The file, uploaded to the tracker; or the note's remark on why it is not attached, when that
 * is final (the homeserver has no such file, the tracker refuses it). A homeserver or tracker
 * that is down throws, and the note waits for it.
 */
async function carryFile(deps: HelpdeskDeps, sync: TrackerSyncDeps, ticket: Ticket, file: TicketFile): Promise<{ attachment: TrackerAttachment } | { remark: string } | undefined> {
  if (sync.media === undefined) return undefined;
  if (file.size !== undefined && file.size > MAX_ATTACHMENT_BYTES) {
    return { remark: notAttached(file, `it is larger than the ${sizeText(MAX_ATTACHMENT_BYTES)} the bot carries to Redmine`) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await sync.media.download(file.mxc, MAX_ATTACHMENT_BYTES, file.encryption);
  } catch (error) {
    if (!isRefusal(error)) throw error;
    deps.logger.warn("a file sent in a request could not be fetched for Redmine", { ticket: ticket.id, file: file.mxc, error: messageOf(error) });
    return { remark: notAttached(file, `it could not be fetched from the homeserver (${messageOf(error)})`) };
  }
  try {
    const token = await sync.tracker.upload(file.name, bytes);
    return { attachment: { token, filename: file.name, ...(file.mimetype === undefined ? {} : { contentType: file.mimetype }) } };
  } catch (error) {
    if (!isRefusal(error)) throw error;
    sync.metrics.trackerError("final");
    deps.logger.warn("Redmine did not take a file sent in a request", { ticket: ticket.id, file: file.name, bytes: bytes.byteLength, error: messageOf(error) });
    return { remark: notAttached(file, messageOf(error)) };
  }
}

/** A refusal of the file itself (final); anything else is retried or is a bug. */
function isRefusal(error: unknown): boolean {
  return (error instanceof RefusedError || error instanceof HonoroitError) && failureCause(error) === "final";
}

function notAttachedPrefix(file: TicketFile): string {
  return `(File "${file.name}"`;
}

/** What a note says of a file it does not carry. */
function notAttached(file: TicketFile, reason: string): string {
  const size = file.size === undefined ? "" : `, ${sizeText(file.size)},`;
  return `${notAttachedPrefix(file)}${size} is not attached: ${reason})`;
}

/** A size as people read it: 900 bytes, 12.3 KB, 6.0 MB. */
function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

async function newestNoteOfOurs(sync: TrackerSyncDeps, issueId: number): Promise<string | undefined> {
  const me = await sync.tracker.currentUser();
  const issue = await sync.tracker.issue(issueId);
  return issue.notes.filter((n) => n.authorId === me.id && n.text !== "").at(-1)?.text;
}

function noteText(side: "customer" | "operator", event: EventOf<"customer-message" | "operator-message">): string {
  const who = event.sender === undefined ? (side === "customer" ? "The customer" : "An operator") : `${event.sender} (${side})`;
  return `${who}:\n\n${event.body}`;
}

/** The issue's subject: the thread's title without its status prefix. */
export function issueSubject(deps: Pick<HelpdeskDeps, "options">, ticket: Ticket): string {
  const title = ticket.title ?? `Request #${ticket.id} from ${ticket.customer}`;
  const prefix = deps.options.get("text.prefix.open");
  const bare = title.startsWith(prefix) ? title.slice(prefix.length).trim() : title;
  return bare.slice(0, 255);
}

/** The issue's description: who asked, and a link to the thread. */
export function issueDescription(deps: Pick<HelpdeskDeps, "operatorsRoom">, ticket: Ticket, name: string): string {
  const who = name === ticket.customer ? ticket.customer : `${name} (${ticket.customer})`;
  const lines = [`Request #${ticket.id} from ${who}, opened ${ticket.openedAt.toISOString()}.`];
  if (ticket.threadRoot !== null) lines.push("", `Thread: ${threadLink(deps.operatorsRoom, ticket.threadRoot)}`);
  return lines.join("\n");
}

/** A matrix.to link to an event in a room. */
export function threadLink(room: string, event: string): string {
  const server = room.slice(room.indexOf(":") + 1);
  return `https://matrix.to/#/${encodeURIComponent(room)}/${encodeURIComponent(event)}?via=${encodeURIComponent(server)}`;
}
