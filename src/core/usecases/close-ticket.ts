import { notifyObservers, type HelpdeskDeps } from "../deps.ts";
import { HonoroitError } from "../errors.ts";
import type { TicketId } from "../ids.ts";
import type { Ticket } from "../ticket.ts";
import { automaticMessage } from "./notices.ts";

/** Why a ticket is closed; decides the customer's message. */
export type CloseReason = "operator" | "auto" | "cli" | "redmine";

/** The thread title once done: the open prefix swapped for the done prefix. */
export function doneTitle(title: string, openPrefix: string, donePrefix: string): string {
  return title.startsWith(openPrefix) ? donePrefix + title.slice(openPrefix.length) : `${donePrefix} ${title}`;
}

/** A closed request, and what could not be done on the way (the close itself always happens). */
export interface ClosedTicket {
  readonly ticket: Ticket;
  readonly problems: readonly string[];
}

/**
 * Closes a request: tells the customer, marks the thread title done, leaves the customer room,
 * then records it closed. Every step is keyed by the ticket, so a repeat after a crash
 * finishes the job without doing any step twice. A step the homeserver refuses (the customer
 * left, the bot was kicked) does not keep the request open: it is reported instead.
 */
export async function closeTicket(deps: HelpdeskDeps, id: TicketId, reason: CloseReason): Promise<ClosedTicket> {
  const ticket = await deps.store.getTicket(id);
  if (ticket === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
  if (ticket.status === "closed") throw new HonoroitError("CONFLICT", `request #${id} is already closed`);

  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push(`${what}: ${message}`);
      deps.logger.warn(`closing a request: ${what}`, { ticket: ticket.id, error: message });
    }
  };
  const text = reason === "auto" ? deps.options.get("text.done.auto") : deps.options.get("text.done");
  await attempt("the customer could not be told", () => automaticMessage(deps, ticket.customerRoom, text, `done:${ticket.id}`));
  const { threadRoot, title } = ticket;
  if (threadRoot !== null && title !== null) {
    const done = doneTitle(title, deps.options.get("text.prefix.open"), deps.options.get("text.prefix.done"));
    await attempt("the thread title could not be changed", async () => {
      await deps.messenger.edit(deps.operatorsRoom, threadRoot, { msgtype: "m.text", body: done, mentions: [] }, `doneroot:${ticket.id}`);
      await deps.store.setTitle(ticket.id, done);
    });
  }
  await attempt("the bot could not leave the customer's room", () => deps.messenger.leave(ticket.customerRoom));
  const closed = await deps.store.closeTicket(ticket.id, deps.clock.now(), reason);
  if (closed === undefined) throw new HonoroitError("CONFLICT", `request #${id} is already closed`);
  deps.metrics.requestDone();
  deps.logger.info("request closed", { ticket: id, reason });
  await notifyObservers(deps, (o) => o.closed?.(closed));
  return { ticket: closed, problems };
}

/** Closes every open request idle longer than `autoclose.after`; returns how many. */
export async function autoCloseIdle(deps: HelpdeskDeps): Promise<number> {
  const after = deps.options.get("autoclose.after");
  if (after === 0) return 0;
  const before = new Date(deps.clock.now().getTime() - after);
  let closed = 0;
  for (;;) {
    const idle = await deps.store.listIdleTickets(before, 100);
    if (idle.length === 0) return closed;
    for (const t of idle) {
      try {
        await closeTicket(deps, t.id, "auto");
        closed++;
      } catch (error) {
        deps.logger.error("auto-close failed", { ticket: t.id, error: String(error) });
        return closed;
      }
    }
  }
}
