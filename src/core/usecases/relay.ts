import { displayName, type HelpdeskDeps } from "../deps.ts";
import { isMediaMsgtype, type EditEvent, type MessageBody, type MessageEvent, type OutgoingMessage, type ReactionEvent, type RedactionEvent } from "../events.ts";
import { bridgeSource } from "../bridge-source.ts";
import { serverOf, type EventId, type UserId } from "../ids.ts";
import { neutraliseRoomMention, sanitizeHtml, stripReplyFallback, textToHtml, userLink, escapeHtml } from "../format.ts";
import type { Outcome } from "../outcome.ts";
import type { RelayKind } from "../ports.ts";
import { queueTicketEvent, ticketFileOf } from "../ticket-events.ts";
import type { Ticket } from "../ticket.ts";


/** How a customer's message looks in the operators' thread. */
export async function customerCopy(deps: HelpdeskDeps, ticket: Ticket, sender: UserId, content: MessageBody): Promise<OutgoingMessage> {
  const profile = await deps.profiles.get(sender);
  const name = displayName(profile.displayname, sender);
  const perMessageProfile = {
    id: sender,
    displayname: name,
    ...(profile.avatarUrl === undefined ? {} : { avatarUrl: profile.avatarUrl }),
  };
  const base = { threadRoot: ticket.threadRoot ?? undefined, profile: perMessageProfile, mentions: [] as UserId[] };
  const label = name === sender ? sender : `${name} (${sender})`;
  if (content.media !== undefined && isMediaMsgtype(content.msgtype) && content.media.url.startsWith("mxc://")) {
    // The label is the caption; the file keeps its name (clients show a caption when the two differ).
    const media = { ...content.media, filename: content.media.filename ?? content.body };
    return { ...withoutUndefined(base), msgtype: content.msgtype, body: neutraliseRoomMention(`${label}: ${content.body}`), media };
  }
  const inner = content.html !== undefined ? sanitizeHtml(content.html) : textToHtml(content.body);
  // Whatever the customer's msgtype (a notice, an emote, one we do not know), the copy is their
  // labelled text: nothing from a customer can pass for the bot's own notices.
  return {
    ...withoutUndefined(base),
    msgtype: "m.text",
    body: neutraliseRoomMention(`${label}:\n${content.body}`),
    html: neutraliseRoomMention(`<a href="${escapeHtml(userLink(sender))}">${escapeHtml(name)}</a>:<br>${inner}`),
  };
}

/** How an operator's message looks to the customer: sent by the bot, reply quotes removed. */
export function operatorCopy(content: MessageBody, isReply: boolean): OutgoingMessage {
  const stripped = isReply || content.html?.includes("<mx-reply>") === true ? stripReplyFallback(content.body, content.html) : { body: content.body, ...(content.html === undefined ? {} : { html: content.html }) };
  return {
    msgtype: content.msgtype,
    body: stripped.body,
    ...(stripped.html === undefined ? {} : { html: sanitizeHtml(stripped.html) }),
    ...(content.media === undefined ? {} : { media: content.media }),
    mentions: [],
  };
}

function withoutUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** Relays a customer's message into the ticket's thread, once. */
export async function relayCustomerMessage(deps: HelpdeskDeps, ticket: Ticket, event: MessageEvent, outcome: Outcome): Promise<void> {
  if (await deps.store.relays.bySource(event.eventId)) return;
  const copy = await customerCopy(deps, ticket, event.sender, event.content);
  const target = await deps.messenger.send(deps.operatorsRoom, copy, `relay:${event.eventId}`);
  record(deps, ticket, "customer-to-thread", event, target, outcome);
  const file = ticketFileOf(event.content);
  outcome.write((tx) => queueTicketEvent(tx, deps.subscribers, { type: "customer-message", ticket: ticket.id, event: event.eventId, body: event.content.body, sender: event.sender, ...(file === undefined ? {} : { file }) }, deps.clock.now()));
  outcome.onCommit(() => {
    deps.metrics.customerMessage(bridgeSource(event.sender), event.sender, serverOf(event.sender));
    deps.metrics.relayLatency("customer-to-thread", secondsSince(deps, event.ts));
  });
}

/** Relays an operator's thread message to the customer, once. */
export async function relayOperatorMessage(deps: HelpdeskDeps, ticket: Ticket, event: MessageEvent, outcome: Outcome): Promise<void> {
  if (await deps.store.relays.bySource(event.eventId)) return;
  const copy = operatorCopy(event.content, event.replyTo !== undefined);
  const target = await deps.messenger.send(ticket.customerRoom, copy, `relay:${event.eventId}`);
  record(deps, ticket, "operator-to-customer", event, target, outcome);
  const file = ticketFileOf(event.content);
  outcome.write((tx) => queueTicketEvent(tx, deps.subscribers, { type: "operator-message", ticket: ticket.id, event: event.eventId, body: copy.body, sender: event.sender, ...(file === undefined ? {} : { file }) }, deps.clock.now()));
  outcome.onCommit(() => {
    deps.metrics.operatorMessage();
    deps.metrics.relayLatency("operator-to-customer", secondsSince(deps, event.ts));
  });
}

/** The copy's record, and the ticket's activity, in the commit. */
function record(deps: HelpdeskDeps, ticket: Ticket, kind: RelayKind, event: MessageEvent, target: EventId, outcome: Outcome): void {
  const targetRoom = kind === "customer-to-thread" ? deps.operatorsRoom : ticket.customerRoom;
  const at = deps.clock.now();
  outcome.write(async (tx) => {
    await tx.relays.record({ ticketId: ticket.id, kind, sourceRoom: event.room, sourceEvent: event.eventId, sourceSender: event.sender, targetRoom, targetEvent: target });
    await tx.tickets.touch(ticket.id, at);
  });
}

/** Applies an edit to the copy of the edited message, on whichever side it is. */
export async function relayEdit(deps: HelpdeskDeps, ticket: Ticket, event: EditEvent, outcome: Outcome): Promise<void> {
  const relay = await deps.store.relays.bySource(event.target);
  // Only its author's edit, in the original's own room, counts (an event id is no secret).
  if (relay === undefined || relay.sourceRoom !== event.room || relay.ticketId !== ticket.id || relay.sourceSender !== event.sender) {
    deps.logger.info("an edit of a message that is not the editor's own relayed one was not relayed", { event: event.eventId, sender: event.sender });
    return;
  }
  const copy = relay.kind === "customer-to-thread"
    ? await customerCopy(deps, ticket, event.sender, event.content)
    : operatorCopy(event.content, false);
  // An edit carries its own relation (m.replace); the thread is the original's.
  const edited = { ...copy };
  delete edited.threadRoot;
  await deps.messenger.edit(relay.targetRoom, relay.targetEvent, edited, `edit:${event.eventId}`);
  const at = deps.clock.now();
  outcome.write((tx) => tx.tickets.touch(ticket.id, at));
}

/**
 * Mirrors a reaction onto the matching message on the other side: a reaction to a copy goes
 * to its original, a reaction to an original goes to its copy.
 */
export async function relayReaction(deps: HelpdeskDeps, ticket: Ticket, event: ReactionEvent, outcome: Outcome): Promise<void> {
  const { relays } = deps.store;
  if (await relays.bySource(event.eventId)) return;
  // Only a message of this ticket, seen in the room the reaction is in (an event id is no secret).
  const copyHere = await relays.byTarget(event.target);
  const asCopy = copyHere?.targetRoom === event.room && copyHere.ticketId === ticket.id ? copyHere : undefined;
  const originalHere = asCopy === undefined ? await relays.bySource(event.target) : undefined;
  const asOriginal = originalHere?.sourceRoom === event.room && originalHere.ticketId === ticket.id ? originalHere : undefined;
  const [room, target] = asCopy !== undefined
    ? [asCopy.sourceRoom, asCopy.sourceEvent]
    : asOriginal !== undefined
      ? [asOriginal.targetRoom, asOriginal.targetEvent]
      : [undefined, undefined];
  if (room === undefined) return;
  const copy = await deps.messenger.react(room, target, event.key, `react:${event.eventId}`);
  const kind: RelayKind = event.room === deps.operatorsRoom ? "operator-to-customer" : "customer-to-thread";
  outcome.write((tx) => tx.relays.record({ ticketId: ticket.id, kind, sourceRoom: event.room, sourceEvent: event.eventId, sourceSender: event.sender, targetRoom: room, targetEvent: copy }));
}

/** Redacts the copy of a redacted message or reaction. */
export async function relayRedaction(deps: HelpdeskDeps, event: RedactionEvent): Promise<void> {
  const relay = await deps.store.relays.bySource(event.target);
  // Only its author's redaction, in the original's own room, counts (an event id is no secret;
  // a moderator removing someone else's message removes it here only).
  if (relay === undefined || relay.sourceRoom !== event.room || relay.sourceSender !== event.sender) return;
  await deps.messenger.redact(relay.targetRoom, relay.targetEvent, event.reason, `redact:${event.eventId}`);
}

/** Seconds from a message's server timestamp to now (never negative: clocks differ a little). */
function secondsSince(deps: HelpdeskDeps, sent: Date): number {
  return Math.max(0, deps.clock.now().getTime() - sent.getTime()) / 1000;
}
