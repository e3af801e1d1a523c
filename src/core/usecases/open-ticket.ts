import { sendOnce, type HelpdeskDeps } from "../deps.ts";
import type { RoomId, UserId } from "../ids.ts";
import { serverOf } from "../ids.ts";
import { ordinal } from "../ordinal.ts";
import { fillTemplate } from "../options.ts";
import type { OutgoingMessage } from "../events.ts";
import { queueTicketEvent } from "../ticket-events.ts";
import type { Ticket } from "../ticket.ts";
import { automaticMessage } from "./notices.ts";

/** The thread title: `[OPEN] 3rd request from example.com (1st by Alice (@alice:example.com))`. */
export function ticketTitle(prefix: string, homeserverOrdinal: number, customerOrdinal: number, homeserver: string, name: string, customer: UserId): string {
  const who = name === customer ? customer : `${name} (${customer})`;
  return `${prefix} ${ordinal(homeserverOrdinal)} request from ${homeserver} (${ordinal(customerOrdinal)} by ${who})`;
}

/** The thread root's content: the title, and the machine-readable fields kept on every edit. */
export function rootMessage(ticket: Pick<Ticket, "customer" | "homeserver">, title: string): OutgoingMessage {
  return { msgtype: "m.text", body: title, mentions: [], fields: { customer: ticket.customer, homeserver: ticket.homeserver } };
}

/**
 * The open ticket of a customer room, opening one (ticket row, thread root, greeting) when
 * there is none. Each step commits on its own and is keyed by the ticket, so a repeat after a
 * crash at any step finishes the job without doing a step twice. Subscribers hear of the new
 * ticket in the same transaction that records its thread.
 */
export async function ensureOpenTicket(deps: HelpdeskDeps, room: RoomId, customer: UserId, options: { greet: boolean } = { greet: true }): Promise<Ticket> {
  const { tickets } = deps.store;
  // The common case, a message in an open request, needs no write.
  const existing = await tickets.findOpenByRoom(room);
  if (existing?.threadRoot != null) return existing;
  const opened = await tickets.open({ customer, customerRoom: room, openedAt: deps.clock.now() });
  const ticket = opened.ticket;
  if (opened.created) {
    deps.metrics.requestNew();
    deps.logger.info("request opened", { ticket: ticket.id, customer, room });
  }
  if (ticket.threadRoot !== null) return ticket;

  let title = ticket.title;
  if (title === null) {
    const name = await deps.profiles.nameOf(ticket.customer);
    title = ticketTitle(deps.options.get("text.prefix.open"), opened.homeserverOrdinal, opened.customerOrdinal, ticket.homeserver, name, ticket.customer);
    await tickets.setTitle(ticket.id, title);
  }
  const root = await sendOnce(deps, deps.operatorsRoom, rootMessage(ticket, title), `root:${ticket.id}`);
  // Greet before the thread is recorded: once it is, this function returns early above.
  if (options.greet) {
    const greeting = serverOf(customer) === serverOf(deps.messenger.botUser)
      ? deps.options.get("text.greetings")
      : fillTemplate(deps.options.get("text.greetings.customer"), ordinal(opened.customerOrdinal));
    await automaticMessage(deps, room, greeting, `greet:${ticket.id}`);
  }
  const id = ticket.id;
  await deps.store.transaction(async (tx) => {
    await tx.tickets.setThreadRoot(id, root);
    await queueTicketEvent(tx, deps.subscribers, { type: "opened", ticket: id }, deps.clock.now());
  });
  return { ...ticket, threadRoot: root, title };
}
