import type { EventId, TicketId, UserId } from "./ids.ts";
import type { NewJob, StoreScope } from "./ports.ts";

/** What happened to a ticket, for subscribers such as an issue tracker. */
export type TicketEvent =
  | { readonly type: "opened"; readonly ticket: TicketId }
  | { readonly type: "customer-message"; readonly ticket: TicketId; readonly event: EventId; readonly body: string; readonly sender?: UserId }
  | { readonly type: "operator-message"; readonly ticket: TicketId; readonly event: EventId; readonly body: string; readonly sender?: UserId }
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
