import { causeOf, sendOnce, waitingError, type HelpdeskDeps } from "../deps.ts";
import { messageOf } from "../errors.ts";
import type { RoomId, UserId } from "../ids.ts";
import { serverOf } from "../ids.ts";
import { ordinal } from "../ordinal.ts";
import { fillTemplate } from "../options.ts";
import type { OutgoingMessage } from "../events.ts";
import { queueTicketEvent } from "../ticket-events.ts";
import type { OpenedTicket } from "../ports.ts";
import type { Ticket } from "../ticket.ts";
import { automaticMessage, threadNotice } from "./notices.ts";

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
 * The open ticket of a customer room, opening one when there is none: the ticket (counted),
 * its title, its thread root (recorded with the "opened" job for subscribers), then the
 * greeting. Each step commits on its own and is keyed by the ticket, so a repeat after a crash
 * at any step finishes the job without doing a step twice. A greeting the homeserver refuses
 * (the bot may not post in the customer's room) is reported in the thread; it never keeps the
 * customer's messages from the operators.
 */
export async function ensureOpenTicket(deps: HelpdeskDeps, room: RoomId, customer: UserId, options: { greet: boolean } = { greet: true }): Promise<Ticket> {
  const { tickets } = deps.store;
  // The common case, a message in a request that has its thread and its greeting, writes nothing.
  const existing = await tickets.findOpenByRoom(room);
  if (existing?.threadRoot != null && existing.greetedAt !== null) return existing;
  const opened = await tickets.open({ customer, customerRoom: room, openedAt: deps.clock.now() });
  let ticket = opened.ticket;
  if (opened.created) {
    deps.metrics.requestNew();
    deps.logger.info("request opened", { ticket: ticket.id, customer, room });
  }
  if (ticket.threadRoot === null) ticket = await postThread(deps, opened, options.greet);
  if (ticket.greetedAt === null) ticket = await greet(deps, ticket, opened.customerOrdinal);
  return ticket;
}

/** The title and thread root of a new ticket; without a greeting due, it counts as greeted. */
async function postThread(deps: HelpdeskDeps, opened: OpenedTicket, greet: boolean): Promise<Ticket> {
  const { ticket } = opened;
  let title = ticket.title;
  if (title === null) {
    const name = await deps.profiles.nameOf(ticket.customer);
    title = ticketTitle(deps.options.get("text.prefix.open"), opened.homeserverOrdinal, opened.customerOrdinal, ticket.homeserver, name, ticket.customer);
    await deps.store.tickets.setTitle(ticket.id, title);
  }
  const root = await sendOnce(deps, deps.operatorsRoom, rootMessage(ticket, title), `root:${ticket.id}`);
  const at = deps.clock.now();
  await deps.store.transaction(async (tx) => {
    await tx.tickets.setThreadRoot(ticket.id, root);
    if (!greet) await tx.tickets.setGreeted(ticket.id, at);
    await queueTicketEvent(tx, deps.subscribers, { type: "opened", ticket: ticket.id }, at);
  });
  return { ...ticket, threadRoot: root, title, greetedAt: greet ? null : at };
}

/** Greets the customer once (unless `silent`); a refusal is told to the operators instead. */
async function greet(deps: HelpdeskDeps, ticket: Ticket, customerOrdinal: number): Promise<Ticket> {
  const greeting = serverOf(ticket.customer) === serverOf(deps.messenger.botUser)
    ? deps.options.get("text.greetings")
    : fillTemplate(deps.options.get("text.greetings.customer"), ordinal(customerOrdinal));
  try {
    await automaticMessage(deps, ticket.customerRoom, greeting, `greet:${ticket.id}`);
  } catch (error) {
    if (causeOf(deps, error) !== "final") throw waitingError(deps, error);
    deps.logger.warn("could not greet the customer", { ticket: ticket.id, error: messageOf(error) });
    await threadNotice(deps, ticket, `The customer could not be greeted: ${messageOf(error)}`, `greetfail:${ticket.id}`);
  }
  const at = deps.clock.now();
  await deps.store.tickets.setGreeted(ticket.id, at);
  return { ...ticket, greetedAt: at };
}
