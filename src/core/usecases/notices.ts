import { sendOnce, type HelpdeskDeps } from "../deps.ts";
import type { EventId, RoomId } from "../ids.ts";
import type { Ticket } from "../ticket.ts";

/**
 * An automatic message to a customer (greeting, done, warnings), in the configured msgtype.
 * With the `silent` option on, nothing is sent.
 */
export async function automaticMessage(deps: HelpdeskDeps, room: RoomId, text: string, key: string): Promise<EventId | undefined> {
  if (deps.options.get("silent") || text.trim() === "") return undefined;
  return sendOnce(deps, room, { msgtype: deps.options.get("msgtype"), body: text, mentions: [] }, key);
}

/** A notice for operators in a ticket's thread. */
export async function threadNotice(deps: HelpdeskDeps, ticket: Ticket, text: string, key: string): Promise<EventId | undefined> {
  if (ticket.threadRoot === null) return undefined;
  return sendOnce(deps, deps.operatorsRoom, { msgtype: "m.notice", body: text, threadRoot: ticket.threadRoot, mentions: [] }, key);
}

/** A notice in the operators room, in a thread when `threadRoot` is given. */
export async function operatorsNotice(deps: HelpdeskDeps, text: string, key: string, threadRoot?: EventId): Promise<EventId> {
  return sendOnce(
    deps,
    deps.operatorsRoom,
    { msgtype: "m.notice", body: text, mentions: [], ...(threadRoot === undefined ? {} : { threadRoot }) },
    key,
  );
}
