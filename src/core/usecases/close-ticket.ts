import { causeOf, waitingError, type HelpdeskDeps } from "../deps.ts";
import { HonoroitError, messageOf } from "../errors.ts";
import { queueTicketEvent } from "../ticket-events.ts";
import type { TicketId } from "../ids.ts";
import type { Ticket } from "../ticket.ts";
import { automaticMessage } from "./notices.ts";
import { rootMessage } from "./open-ticket.ts";

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
export async function closeTicket(deps: HelpdeskDeps, id: TicketId, reason: CloseReason, told?: { readonly text?: string }): Promise<ClosedTicket> {
  const found = await deps.store.tickets.get(id);
  if (found === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
  // What the customer wrote before now reaches the thread first. Then, in the customer room's
  // queue: a message the customer sends meanwhile is relayed before the close, or opens a new
  // request after it, never half-way.
  await deps.inbox.settled(found.customerRoom);
  return deps.rooms.run(found.customerRoom, () => closeInOrder(deps, id, reason, told?.text));
}

async function closeInOrder(deps: HelpdeskDeps, id: TicketId, reason: CloseReason, textOverride?: string): Promise<ClosedTicket> {
  const ticket = await deps.store.tickets.get(id);
  if (ticket === undefined) throw new HonoroitError("NOT_FOUND", `there is no request #${id}`);
  if (ticket.status === "closed") throw new HonoroitError("CONFLICT", `request #${id} is already closed`);

  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>): Promise<void> => {
    try {
      await step();
    } catch (error) {
      // A service down, or the bot out of the operators room, is not a refusal: stop here, so
      // the close is done whole once it is back.
      if (causeOf(deps, error) !== "final") throw waitingError(deps, error);
      const message = messageOf(error);
      problems.push(`${what}: ${message}`);
      deps.logger.warn(`closing a request: ${what}`, { ticket: ticket.id, error: message });
    }
  };
  // An empty text tells the customer nothing.
  const text = textOverride ?? (reason === "auto" ? deps.options.get("text.done.auto") : deps.options.get("text.done"));
  // The customer's side (told, then left) and the thread's title are independent: both at once.
  const customerSide = async (): Promise<void> => {
    await attempt("the customer could not be told", () => automaticMessage(deps, ticket.customerRoom, text, `done:${ticket.id}`));
    await attempt("the bot could not leave the customer's room", () => deps.messenger.leave(ticket.customerRoom));
  };
  const threadSide = async (): Promise<void> => {
    const { threadRoot, title } = ticket;
    if (threadRoot === null || title === null) return;
    const done = doneTitle(title, deps.options.get("text.prefix.open"), deps.options.get("text.prefix.done"));
    await attempt("the thread title could not be changed", async () => {
      await deps.messenger.edit(deps.operatorsRoom, threadRoot, rootMessage(ticket, done), `doneroot:${ticket.id}`);
      await deps.store.tickets.setTitle(ticket.id, done);
    });
  };
  // Both run to their end before a failure that must wait is passed on, so a repeat of the
  // close never overlaps a step still under way.
  const sides = await Promise.allSettled([customerSide(), threadSide()]);
  const waiting = sides.find((r) => r.status === "rejected");
  if (waiting !== undefined) throw waiting.reason;
  const at = deps.clock.now();
  const closed = await deps.store.transaction(async (tx) => {
    const done = await tx.tickets.close(ticket.id, at, reason);
    if (done !== undefined) await queueTicketEvent(tx, deps.subscribers, { type: "closed", ticket: ticket.id, reason }, at);
    return done;
  });
  if (closed === undefined) throw new HonoroitError("CONFLICT", `request #${id} is already closed`);
  deps.metrics.requestDone();
  deps.logger.info("request closed", { ticket: id, reason });
  return { ticket: closed, problems };
}

/** What closing one of several requests came to. */
export interface CloseOutcome {
  readonly id: number;
  readonly outcome: "closed" | "already closed" | "not found";
  readonly problems: readonly string[];
}

/**
 * Closes each request as `!ho done` does (`text` in place of text.done; "" tells the customer
 * nothing). An unknown or already closed one is reported, not an error; a service down throws
 * (the whole call is tried again, and what it closed meanwhile then reads "already closed").
 */
export async function closeTickets(deps: HelpdeskDeps, ids: readonly TicketId[], reason: CloseReason, text?: string): Promise<CloseOutcome[]> {
  const outcomes: CloseOutcome[] = [];
  for (const id of ids) {
    try {
      const { problems } = await closeTicket(deps, id, reason, text === undefined ? undefined : { text });
      outcomes.push({ id, outcome: "closed", problems });
    } catch (error) {
      if (!(error instanceof HonoroitError) || (error.code !== "NOT_FOUND" && error.code !== "CONFLICT")) throw error;
      outcomes.push({ id, outcome: error.code === "NOT_FOUND" ? "not found" : "already closed", problems: [] });
    }
  }
  return outcomes;
}

/** Closes every open request idle longer than `autoclose.after`; returns how many. */
export async function autoCloseIdle(deps: HelpdeskDeps): Promise<number> {
  const after = deps.options.get("autoclose.after");
  if (after === 0) return 0;
  const before = new Date(deps.clock.now().getTime() - after);
  const failed = new Set<TicketId>();
  let closed = 0;
  for (;;) {
    const idle = (await deps.store.tickets.listIdle(before, 100 + failed.size)).filter((t) => !failed.has(t.id));
    if (idle.length === 0) return closed;
    for (const t of idle) {
      try {
        if (await closeIfIdle(deps, t.id, before)) closed++;
      } catch (error) {
        // A service down: stop, the next check tries again. Anything else: skip this one.
        if (causeOf(deps, error) !== "final") throw waitingError(deps, error);
        failed.add(t.id);
        deps.logger.error("auto-close failed", { ticket: t.id, error: messageOf(error) });
      }
    }
  }
}

/** Closes a ticket with the auto-close text if it is still open and idle since `before`. */
async function closeIfIdle(deps: HelpdeskDeps, id: TicketId, before: Date): Promise<boolean> {
  const found = await deps.store.tickets.get(id);
  if (found === undefined) return false;
  await deps.inbox.settled(found.customerRoom);
  return deps.rooms.run(found.customerRoom, async () => {
    const ticket = await deps.store.tickets.get(id);
    // The customer may have written since the list was read.
    if (ticket?.status !== "open" || ticket.lastActivityAt >= before) return false;
    await closeInOrder(deps, id, "auto");
    return true;
  });
}
