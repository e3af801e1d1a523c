import { causeOf, displayName, waitingError, type HelpdeskDeps } from "./deps.ts";
import type { IncomingEvent, InviteEvent, MembershipEvent, MessageEvent } from "./events.ts";
import type { EventId } from "./ids.ts";
import { messageOf, newReference } from "./errors.ts";
import { Outcome } from "./outcome.ts";
import { fillTemplate, matchesUserPattern } from "./options.ts";
import type { Ticket } from "./ticket.ts";
import { automaticMessage, operatorsNotice, threadNotice } from "./usecases/notices.ts";
import { ensureOpenTicket } from "./usecases/open-ticket.ts";
import { handleUndecryptable } from "./usecases/undecryptable.ts";
import { relayCustomerMessage, relayEdit, relayOperatorMessage, relayReaction, relayRedaction } from "./usecases/relay.ts";

/** Runs chat commands (`!ho …`) from the operators room; provided by the chat front end. */
export interface CommandRunner {
  /** Whether the text is addressed to the bot (starts with the prefix). */
  isCommand(text: string): boolean;
  run(event: MessageEvent, ticket: Ticket | undefined): Promise<void>;
}


/** How handling an event ended: done, failed for good (its sender was told), or seen before. */
export type HandleResult = "handled" | "failed" | "duplicate";

/**
 * The helpdesk: takes every incoming Matrix event once, in order per room, and does what the
 * product promises (open, relay, close, notices). Idempotent per event id, so a replay after
 * a crash changes nothing.
 */
export class Helpdesk {
  constructor(
    private readonly deps: HelpdeskDeps,
    private readonly commands: CommandRunner,
  ) {}

  /**
   * Handles one event (skipping it when already handled). What the event changes in the
   * database (relay records, the ticket's activity, queued jobs) commits in one transaction with
   * its handled mark. A failure that says nothing about the event (a service unavailable or
   * busy, the bot not yet in the operators room) is thrown, and the event is handed over again
   * later; any other failure is final for it: logged with a reference, the person who sent it
   * is told, and the event counts as handled, so one bad event never blocks the rest.
   */
  handle(event: IncomingEvent): Promise<HandleResult> {
    return this.deps.rooms.run(event.room, async (): Promise<HandleResult> => {
      const { store, clock } = this.deps;
      if (event.sender === this.deps.messenger.botUser && event.type !== "invite") return "duplicate";
      if (await store.journal.isHandled(event.eventId)) return "duplicate";
      const outcome = new Outcome();
      let result: HandleResult = "handled";
      try {
        await this.dispatch(event, outcome);
      } catch (error) {
        if (causeOf(this.deps, error) !== "final") throw waitingError(this.deps, error);
        await this.onFinalFailure(event, error);
        result = "failed";
      }
      await outcome.commit(store, (tx) => tx.journal.markHandled(event.eventId, clock.now()));
      return result;
    });
  }

  private async onFinalFailure(event: IncomingEvent, error: unknown): Promise<void> {
    const { deps } = this;
    const ref = newReference();
    deps.logger.error("an event could not be handled", { ref, event: event.eventId, room: event.room, type: event.type, error });
    if (event.type !== "message") return;
    try {
      if (event.room !== deps.operatorsRoom) {
        await automaticMessage(deps, event.room, deps.options.get("text.error"), `error:${event.eventId}`);
      } else if (event.threadRoot !== undefined) {
        await operatorsNotice(deps, `This message could not be delivered to the customer: ${messageOf(error)} (reference ${ref})`, `error:${event.eventId}`, event.threadRoot);
      }
    } catch (notice) {
      if (causeOf(this.deps, notice) !== "final") throw waitingError(this.deps, notice);
      deps.logger.warn("could not tell the sender about the failure", { ref, error: messageOf(notice) });
    }
  }

  private dispatch(event: IncomingEvent, outcome: Outcome): Promise<void> {
    if (event.type === "invite") return this.onInvite(event);
    if (event.room === this.deps.operatorsRoom) return this.onOperatorsRoom(event, outcome);
    if (this.deps.options.get("ignore.rooms").includes(event.room)) return Promise.resolve();
    return this.onCustomerRoom(event, outcome);
  }

  private async onInvite(event: InviteEvent): Promise<void> {
    const { deps } = this;
    if (event.room === deps.operatorsRoom) {
      await deps.messenger.join(event.room);
      deps.logger.info("joined the operators room", { room: event.room });
      return;
    }
    const allowed = matchesUserPattern(event.sender, deps.options.get("allow.users"))
      && !deps.options.get("ignore.rooms").includes(event.room);
    if (allowed) {
      await deps.messenger.join(event.room);
      deps.logger.info("joined a customer room", { room: event.room, inviter: event.sender });
    } else {
      await deps.messenger.reject(event.room);
      deps.logger.info("rejected an invite", { room: event.room, inviter: event.sender });
    }
  }

  private async onOperatorsRoom(event: IncomingEvent, outcome: Outcome): Promise<void> {
    const { deps } = this;
    switch (event.type) {
      case "message": {
        const ticket = event.threadRoot === undefined ? undefined : await deps.store.tickets.findByThread(event.threadRoot);
        if (this.commands.isCommand(event.content.body)) {
          await this.commands.run(event, ticket);
          return;
        }
        if (event.threadRoot === undefined) {
          if (!deps.options.get("ignore.nothread")) {
            await operatorsNotice(deps, `This message is not in a request's thread, so it goes nowhere. Reply inside a thread to reach a customer, or send \`${deps.prefix} help\`.`, `nothread:${event.eventId}`);
          }
          return;
        }
        if (ticket === undefined) return;
        if (ticket.status === "closed") {
          await threadNotice(deps, ticket, `Request #${ticket.id} is closed; this message was not sent to the customer.`, `closed:${event.eventId}`);
          return;
        }
        await relayOperatorMessage(deps, ticket, event, outcome);
        return;
      }
      case "edit": {
        const ticket = event.threadRoot === undefined ? await this.ticketOfRelayed(event.target) : await deps.store.tickets.findByThread(event.threadRoot);
        if (ticket?.status === "open") await relayEdit(deps, ticket, event, outcome);
        return;
      }
      case "reaction": {
        const ticket = await this.ticketOfRelayed(event.target);
        if (ticket?.status === "open") await relayReaction(deps, ticket, event, outcome);
        return;
      }
      case "redaction":
        await relayRedaction(deps, event);
        return;
      case "undecryptable":
        await handleUndecryptable(deps, event);
        return;
      default:
        return;
    }
  }

  private async ticketOfRelayed(event: EventId): Promise<Ticket | undefined> {
    const { relays, tickets } = this.deps.store;
    const relay = (await relays.byTarget(event)) ?? (await relays.bySource(event));
    return relay === undefined ? undefined : tickets.get(relay.ticketId);
  }

  private async onCustomerRoom(event: IncomingEvent, outcome: Outcome): Promise<void> {
    const { deps } = this;
    switch (event.type) {
      case "message": {
        const ticket = await ensureOpenTicket(deps, event.room, event.sender);
        await relayCustomerMessage(deps, ticket, event, outcome);
        return;
      }
      case "edit": {
        const ticket = await deps.store.tickets.findOpenByRoom(event.room);
        if (ticket !== undefined) await relayEdit(deps, ticket, event, outcome);
        return;
      }
      case "reaction": {
        const ticket = await deps.store.tickets.findOpenByRoom(event.room);
        if (ticket !== undefined) await relayReaction(deps, ticket, event, outcome);
        return;
      }
      case "redaction":
        await relayRedaction(deps, event);
        return;
      case "membership":
        await this.onMembership(event);
        return;
      case "undecryptable":
        await handleUndecryptable(deps, event);
        return;
      default:
        return;
    }
  }

  private async onMembership(event: MembershipEvent): Promise<void> {
    const { deps } = this;
    if (event.user === deps.messenger.botUser) return;
    const ticket = await deps.store.tickets.findOpenByRoom(event.room);
    if (ticket === undefined) return;
    const name = event.displayname === undefined ? await deps.profiles.nameOf(event.user) : displayName(event.displayname, event.user);
    const key = `member:${event.eventId}`;
    if (event.membership === "join" && event.previous !== "join") {
      await threadNotice(deps, ticket, fillTemplate(deps.options.get("text.join"), name), key);
    } else if (event.membership === "invite") {
      const inviter = await deps.profiles.nameOf(event.sender);
      await threadNotice(deps, ticket, fillTemplate(deps.options.get("text.invite"), inviter, name), key);
    } else if (event.membership === "leave" || event.membership === "ban") {
      await threadNotice(deps, ticket, fillTemplate(deps.options.get("text.leave"), name), key);
      const others = (await deps.messenger.members(event.room)).filter((u) => u !== deps.messenger.botUser);
      if (others.length === 0) await threadNotice(deps, ticket, deps.options.get("text.emptyroom"), `empty:${event.eventId}`);
    }
  }
}
