import { sendOnce, notifyObservers, type HelpdeskDeps } from "../deps.ts";
import type { RoomId, UserId } from "../ids.ts";
import { serverOf } from "../ids.ts";
import { ordinal } from "../ordinal.ts";
import { fillTemplate } from "../options.ts";
import type { OutgoingMessage } from "../events.ts";
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
 * there is none. Safe to repeat after a crash at any step: each step is keyed by the ticket.
 */
export async function ensureOpenTicket(deps: HelpdeskDeps, room: RoomId, customer: UserId, options: { greet: boolean } = { greet: true }): Promise<Ticket> {
  const opened = await deps.store.openTicket({ customer, customerRoom: room, openedAt: deps.clock.now() });
  let ticket = opened.ticket;
  if (opened.created) {
    deps.metrics.requestNew();
    deps.logger.info("request opened", { ticket: ticket.id, customer, room });
  }
  if (ticket.threadRoot !== null) return ticket;

  let title = ticket.title;
  if (title === null) {
    const name = await deps.profiles.nameOf(ticket.customer);
    title = ticketTitle(deps.options.get("text.prefix.open"), opened.homeserverOrdinal, opened.customerOrdinal, ticket.homeserver, name, ticket.customer);
    await deps.store.setTitle(ticket.id, title);
  }
  const root = await sendOnce(
    deps,
    deps.operatorsRoom,
    rootMessage(ticket, title),
    `root:${ticket.id}`,
  );
  await deps.store.setThreadRoot(ticket.id, root);
  ticket = { ...ticket, threadRoot: root, title };

  if (options.greet) {
    const greeting = serverOf(customer) === serverOf(deps.messenger.botUser)
      ? deps.options.get("text.greetings")
      : fillTemplate(deps.options.get("text.greetings.customer"), ordinal(opened.customerOrdinal));
    await automaticMessage(deps, room, greeting, `greet:${ticket.id}`);
  }
  if (opened.created) await notifyObservers(deps, (o) => o.opened?.(ticket));
  return ticket;
}
