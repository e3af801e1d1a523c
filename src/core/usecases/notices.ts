import { reactOnce, sendOnce, type HelpdeskDeps } from "../deps.ts";
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

/** A text with its HTML form (`formatted_body`), for the clients that show it. */
export interface FormattedText {
  readonly body: string;
  readonly html: string;
}

/** A notice's text: plain, or formatted. */
export type NoticeText = string | FormattedText;

/** A notice in the operators room, in a thread when `threadRoot` is given. */
export async function operatorsNotice(deps: HelpdeskDeps, text: NoticeText, key: string, threadRoot?: EventId): Promise<EventId> {
  const content = typeof text === "string" ? { body: text } : { body: text.body, html: text.html };
  return sendOnce(
    deps,
    deps.operatorsRoom,
    { msgtype: "m.notice", ...content, mentions: [], ...(threadRoot === undefined ? {} : { threadRoot }) },
    key,
  );
}

/** What the bot puts on an operator's command that worked and has nothing more to say. */
export const DONE_REACTION = "✅";

/** A ✅ on an operator's command in the operators room; a replay adds no second one. */
export async function acknowledgeCommand(deps: HelpdeskDeps, command: EventId): Promise<EventId> {
  return reactOnce(deps, deps.operatorsRoom, command, DONE_REACTION, `ack:${command}`);
}
