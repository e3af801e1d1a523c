import type { HelpdeskDeps } from "./deps.ts";
import type { IncomingEvent, InviteEvent, MembershipEvent, MessageEvent } from "./events.ts";
import type { EventId } from "./ids.ts";
import { KeyedQueue } from "./keyed-queue.ts";
import { fillTemplate, matchesUserPattern } from "./options.ts";
import type { Ticket } from "./ticket.ts";
import { autoCloseIdle } from "./usecases/close-ticket.ts";
import { automaticMessage, operatorsNotice, threadNotice } from "./usecases/notices.ts";
import { ensureOpenTicket } from "./usecases/open-ticket.ts";
import { relayCustomerMessage, relayEdit, relayOperatorMessage, relayReaction, relayRedaction } from "./usecases/relay.ts";

/** Runs chat commands (`!ho …`) from the operators room; provided by the chat front end. */
export interface CommandRunner {
  /** Whether the text is addressed to the bot (starts with the prefix). */
  isCommand(text: string): boolean;
  run(event: MessageEvent, ticket: Ticket | undefined): Promise<void>;
}

/**
 * The helpdesk: takes every incoming Matrix event once, in order per room, and does what the
 * product promises (open, relay, close, notices). Idempotent per event id, so a replay after
 * a crash changes nothing.
 */
export class Helpdesk {
  private readonly rooms = new KeyedQueue();

  constructor(
    private readonly deps: HelpdeskDeps,
    private readonly commands: CommandRunner,
  ) {}

  /** Handles one event (skipping it when already handled). */
  handle(event: IncomingEvent): Promise<void> {
    return this.rooms.run(event.room, async () => {
      if (event.sender === this.deps.messenger.botUser && event.type !== "invite") return;
      if (await this.deps.store.isHandled(event.eventId)) return;
      await this.dispatch(event);
      await this.deps.store.markHandled(event.eventId, this.deps.clock.now());
    });
  }

  /** Closes requests idle longer than `autoclose.after`. */
  autoClose(): Promise<number> {
    return autoCloseIdle(this.deps);
  }

  private dispatch(event: IncomingEvent): Promise<void> {
    if (event.type === "invite") return this.onInvite(event);
    if (event.room === this.deps.operatorsRoom) return this.onOperatorsRoom(event);
    if (this.deps.options.get("ignore.rooms").includes(event.room)) return Promise.resolve();
    return this.onCustomerRoom(event);
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

  private async onOperatorsRoom(event: IncomingEvent): Promise<void> {
    const { deps } = this;
    switch (event.type) {
      case "message": {
        const ticket = event.threadRoot === undefined ? undefined : await deps.store.findByThread(event.threadRoot);
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
        try {
          await relayOperatorMessage(deps, ticket, event);
        } catch (error) {
          // Tell the operator in the thread rather than failing silently (e.g. the customer's
          // room is gone); a homeserver that is down fails this notice too and is retried.
          const reason = error instanceof Error ? error.message : String(error);
          await threadNotice(deps, ticket, `This message could not be delivered to the customer: ${reason}`, `undelivered:${event.eventId}`);
          deps.logger.warn("operator message not delivered", { ticket: ticket.id, event: event.eventId, error: reason });
        }
        return;
      }
      case "edit": {
        const ticket = event.threadRoot === undefined ? await this.ticketOfRelayed(event.target) : await deps.store.findByThread(event.threadRoot);
        if (ticket?.status === "open") await relayEdit(deps, ticket, event);
        return;
      }
      case "reaction": {
        const ticket = await this.ticketOfRelayed(event.target);
        if (ticket?.status === "open") await relayReaction(deps, ticket, event);
        return;
      }
      case "redaction":
        await relayRedaction(deps, event);
        return;
      default:
        return;
    }
  }

  private async ticketOfRelayed(event: EventId): Promise<Ticket | undefined> {
    const relay = (await this.deps.store.findRelayByTarget(event)) ?? (await this.deps.store.findRelayBySource(event));
    return relay === undefined ? undefined : this.deps.store.getTicket(relay.ticketId);
  }

  private async onCustomerRoom(event: IncomingEvent): Promise<void> {
    const { deps } = this;
    switch (event.type) {
      case "message": {
        const ticket = await ensureOpenTicket(deps, event.room, event.sender);
        await relayCustomerMessage(deps, ticket, event);
        return;
      }
      case "edit": {
        const ticket = await deps.store.findOpenByRoom(event.room);
        if (ticket !== undefined) await relayEdit(deps, ticket, event);
        return;
      }
      case "reaction": {
        const ticket = await deps.store.findOpenByRoom(event.room);
        if (ticket !== undefined) await relayReaction(deps, ticket, event);
        return;
      }
      case "redaction":
        await relayRedaction(deps, event);
        return;
      case "membership":
        await this.onMembership(event);
        return;
      case "undecryptable":
        if (deps.encryptionWarning) {
          await automaticMessage(deps, event.room, deps.options.get("text.greetings.before.encryption"), `encryption:${event.room}`);
        }
        return;
      default:
        return;
    }
  }

  private async onMembership(event: MembershipEvent): Promise<void> {
    const { deps } = this;
    if (event.user === deps.messenger.botUser) return;
    const ticket = await deps.store.findOpenByRoom(event.room);
    if (ticket === undefined) return;
    const name = event.displayname ?? (await deps.profiles.nameOf(event.user));
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
