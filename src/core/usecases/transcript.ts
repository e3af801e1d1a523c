// A request's transcript for people: both sides in order, with authors and times, from the
// thread in the operators room and the relay records (which copy came from whom, which
// operator message reached the customer; everything else stayed among the operators).
import type { EventId, UserId } from "../ids.ts";
import type { RelayLog } from "../ports.ts";
import type { Ticket } from "../ticket.ts";

/** A message of the thread, as read from the operators room. */
export interface ThreadMessage {
  readonly eventId: EventId;
  readonly sender: UserId;
  readonly at: Date;
  readonly msgtype: string;
  readonly body: string;
}

export type TranscriptRole = "customer" | "operator" | "bot";

export interface TranscriptLine {
  readonly at: Date;
  readonly role: TranscriptRole;
  readonly author: UserId;
  readonly text: string;
  /** Seen by operators only: a note, a command, the bot's notices in the thread. */
  readonly internal: boolean;
  readonly event: EventId;
}

/** The thread's messages (root excluded), oldest first, as the transcript of `ticket`. */
export async function transcriptOf(ticket: Ticket, messages: readonly ThreadMessage[], relays: RelayLog, bot: UserId): Promise<TranscriptLine[]> {
  const lines: TranscriptLine[] = [];
  for (const m of messages) {
    if (m.sender === bot) {
      const relay = await relays.byTarget(m.eventId);
      if (relay?.kind === "customer-to-thread") {
        // A copy reads "Name (@id):\n<text>": the text is what the customer wrote.
        const cut = m.body.indexOf(":\n");
        lines.push({ at: m.at, role: "customer", author: relay.sourceSender ?? ticket.customer, text: cut >= 0 ? m.body.slice(cut + 2) : m.body, internal: false, event: m.eventId });
      } else {
        lines.push({ at: m.at, role: "bot", author: bot, text: m.body, internal: true, event: m.eventId });
      }
      continue;
    }
    const relay = await relays.bySource(m.eventId);
    lines.push({ at: m.at, role: "operator", author: m.sender, text: m.body, internal: relay?.kind !== "operator-to-customer", event: m.eventId });
  }
  return lines;
}
