import { isMediaMsgtype, type MessageBody } from "./events.ts";
import type { EventId, TicketId, UserId } from "./ids.ts";
import type { NewJob, StoreScope } from "./ports.ts";

/**
 * A file sent with a message, with what a subscriber needs to fetch and name it long after
 * the message, across restarts (and, for a file sent in an encrypted room, to decrypt it).
 */
export interface TicketFile {
  /** The `mxc://` URI of the file. */
  readonly mxc: string;
  readonly name: string;
  readonly mimetype?: string;
  /** The size the sender's client declared, in bytes. */
  readonly size?: number;
  /** The keys of a file sent in an encrypted room (see MediaRef). */
  readonly encryption?: Readonly<Record<string, unknown>>;
}

/** What happened to a ticket, for subscribers such as an issue tracker. */
export type TicketEvent =
  | { readonly type: "opened"; readonly ticket: TicketId }
  | { readonly type: "customer-message"; readonly ticket: TicketId; readonly event: EventId; readonly body: string; readonly sender?: UserId; readonly file?: TicketFile }
  | { readonly type: "operator-message"; readonly ticket: TicketId; readonly event: EventId; readonly body: string; readonly sender?: UserId; readonly file?: TicketFile }
  | { readonly type: "closed"; readonly ticket: TicketId; readonly reason: string };

/** The job kind a subscriber handles for one type of ticket event, e.g. `redmine.opened`. */
export function ticketJobKind(subscriber: string, type: TicketEvent["type"]): string {
  return `${subscriber}.${type}`;
}

/**
 * One job per subscriber, in the ticket's lane (so a subscriber sees a ticket's events in
 * order), keyed by what caused it (so a replay queues nothing twice).
 */
export function ticketJobs(subscribers: readonly string[], event: TicketEvent, at: Date): NewJob[] {
  const cause = "event" in event ? event.event : event.type;
  return subscribers.map((subscriber) => ({
    kind: ticketJobKind(subscriber, event.type),
    key: `${subscriber}:${event.ticket}:${event.type}:${cause}`,
    lane: `${subscriber}:ticket:${event.ticket}`,
    payload: JSON.stringify(event),
    runAt: at,
  }));
}

/** Queues a ticket event's jobs inside a transaction. */
export async function queueTicketEvent(tx: StoreScope, subscribers: readonly string[], event: TicketEvent, at: Date): Promise<void> {
  for (const job of ticketJobs(subscribers, event, at)) await tx.jobs.enqueue(job);
}

/** The file a message carries, if it is a file, image, audio or video with an `mxc://` url. */
export function ticketFileOf(content: MessageBody): TicketFile | undefined {
  const media = content.media;
  if (media === undefined || !isMediaMsgtype(content.msgtype) || !media.url.startsWith("mxc://")) return undefined;
  // Without `filename`, the body is the file's name (with it, the body is a caption).
  const name = (media.filename ?? content.body).trim() || "file";
  const mimetype = media.info?.["mimetype"];
  const size = media.info?.["size"];
  return {
    mxc: media.url,
    name,
    ...(typeof mimetype === "string" && mimetype !== "" ? { mimetype } : {}),
    ...(typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
    ...(media.encryption === undefined ? {} : { encryption: media.encryption }),
  };
}
