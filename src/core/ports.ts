import type { EventId, RoomId, TicketId, UserId } from "./ids.ts";
import type { OutgoingMessage } from "./events.ts";
import type { NewTicket, Ticket, TicketFilter } from "./ticket.ts";

// ---------------------------------------------------------------------------
// Storage ports. One adapter (SQLite or PostgreSQL) implements all of them as `Store`.
// ---------------------------------------------------------------------------

/** The result of opening a request: the ticket and the ordinals used in its title. */
export interface OpenedTicket {
  readonly ticket: Ticket;
  /** False when an open ticket already existed for that customer room (it is returned). */
  readonly created: boolean;
  /** Requests counted so far for this customer, this one included (1 = first). */
  readonly customerOrdinal: number;
  /** Requests counted so far from this customer's homeserver, this one included. */
  readonly homeserverOrdinal: number;
}

/** Ordinals after counting one request for a user and their homeserver. */
export interface RequestCount {
  readonly customerOrdinal: number;
  readonly homeserverOrdinal: number;
}

/** Tickets and the per-user / per-homeserver request counters. */
export interface TicketStore {
  /**
   * Opens a ticket for a customer room and counts the request, atomically.
   * At most one open ticket exists per customer room: if one exists it is returned, uncounted.
   */
  openTicket(input: NewTicket): Promise<OpenedTicket>;
  /** Counts a request for a user and their homeserver without opening a ticket (`!ho count`). */
  countRequest(customer: UserId): Promise<RequestCount>;
  getTicket(id: TicketId): Promise<Ticket | undefined>;
  findOpenByRoom(room: RoomId): Promise<Ticket | undefined>;
  /** The ticket whose thread root is `root`, open or closed (the newest, should there be several). */
  findByThread(root: EventId): Promise<Ticket | undefined>;
  findByRedmineIssue(issueId: number): Promise<Ticket | undefined>;
  /** Tickets matching the filter, newest first. */
  listTickets(filter: TicketFilter): Promise<Ticket[]>;
  /** Number of tickets matching the filter (ignores `limit`). */
  countTickets(filter: TicketFilter): Promise<number>;
  setThreadRoot(id: TicketId, root: EventId): Promise<void>;
  setTitle(id: TicketId, title: string): Promise<void>;
  setRedmineIssue(id: TicketId, issueId: number): Promise<void>;
  /** Records activity (a relayed message) for auto-close. */
  touch(id: TicketId, at: Date): Promise<void>;
  /** Closes an open ticket; returns it closed, or undefined when it was not open. */
  closeTicket(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined>;
  /** Open tickets whose last activity is before `before`, oldest first. */
  listIdleTickets(before: Date, limit: number): Promise<Ticket[]>;
}

/** Which way a copy went. */
export type RelayKind = "customer-to-thread" | "operator-to-customer" | "bot";

/** A relayed event and its copy on the other side. */
export interface RelayRecord {
  readonly ticketId: TicketId;
  readonly kind: RelayKind;
  readonly sourceRoom: RoomId;
  readonly sourceEvent: EventId;
  readonly targetRoom: RoomId;
  readonly targetEvent: EventId;
}

/** The map between a relayed event and its copy, used for edits, redactions and reactions. */
export interface RelayLog {
  /** Records a copy; recording the same source event twice keeps the first record. */
  recordRelay(record: RelayRecord): Promise<void>;
  findRelayBySource(source: EventId): Promise<RelayRecord | undefined>;
  findRelayByTarget(target: EventId): Promise<RelayRecord | undefined>;
}

/** Which incoming events have been fully handled, so a replay after a crash does nothing twice. */
export interface EventJournal {
  isHandled(event: EventId): Promise<boolean>;
  markHandled(event: EventId, at: Date): Promise<void>;
  /** Forgets events handled before `before`; returns how many. */
  pruneHandled(before: Date): Promise<number>;
}

/** Bot messages already sent, by idempotency key, so a replay does not send them again. */
export interface SendLedger {
  /** The event sent under `key`, if one was recorded. */
  sentEvent(key: string): Promise<EventId | undefined>;
  /** Records the event sent under `key`; recording the same key twice keeps the first record. */
  recordSent(key: string, event: EventId, at: Date): Promise<void>;
  /** Forgets messages sent before `before`; returns how many. */
  pruneSent(before: Date): Promise<number>;
}

/** The Matrix sync position, saved only after the events it covers are handled. */
export interface SyncState {
  getSyncToken(): Promise<string | undefined>;
  setSyncToken(token: string): Promise<void>;
}

/** Runtime chat options (`allow.users`, `text.greetings`, …) as stored strings. */
export interface OptionStore {
  getOptions(): Promise<ReadonlyMap<string, string>>;
  setOption(key: string, value: string): Promise<void>;
  deleteOption(key: string): Promise<void>;
}

/** A namespaced key-value area (crypto state, device id, imported data). */
export interface KeyValueStore {
  kvGet(namespace: string, key: string): Promise<string | undefined>;
  kvSet(namespace: string, key: string, value: string): Promise<void>;
  kvDelete(namespace: string, key: string): Promise<void>;
  kvList(namespace: string): Promise<ReadonlyMap<string, string>>;
}

/** One pending call to the issue tracker, kept until it succeeds. */
export interface OutboxItem {
  readonly id: number;
  readonly ticketId: TicketId;
  readonly kind: string;
  readonly payload: string;
  readonly attempts: number;
  readonly notBefore: Date;
  readonly lastError: string | null;
}

/** Redmine sync state: notes already relayed, and a durable outbox of calls to make. */
export interface RedmineSyncStore {
  isNoteSynced(ticketId: TicketId, noteId: number): Promise<boolean>;
  markNoteSynced(ticketId: TicketId, noteId: number): Promise<void>;
  enqueueOutbox(ticketId: TicketId, kind: string, payload: string, at: Date): Promise<number>;
  /** Items due at `now`, oldest first. */
  dueOutbox(now: Date, limit: number): Promise<OutboxItem[]>;
  completeOutbox(id: number): Promise<void>;
  retryOutboxLater(id: number, notBefore: Date, error: string): Promise<void>;
}

export interface MigrationInfo {
  readonly version: number;
  readonly name: string;
  readonly appliedAt: Date | null;
}

/** Schema migrations, shared by `honoroit migrate` and `serve`. */
export interface Migrator {
  /** Applies pending migrations (each in one transaction, under a lock); returns those applied. */
  migrate(): Promise<MigrationInfo[]>;
  migrationStatus(): Promise<MigrationInfo[]>;
}

/** Everything the core keeps, behind one interface; implemented for SQLite and PostgreSQL. */
export interface Store
  extends TicketStore, RelayLog, EventJournal, SendLedger, SyncState, OptionStore, KeyValueStore, RedmineSyncStore, Migrator {
  /** `sqlite` or `postgres`. */
  readonly dialect: string;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Time, logging, metrics.
// ---------------------------------------------------------------------------

/** The clock, so auto-close and timestamps can be tested. */
export interface Clock {
  now(): Date;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured logger; `fields` are appended as key=value. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

// ---------------------------------------------------------------------------
// Matrix, as the core sees it.
// ---------------------------------------------------------------------------

/** A user's public profile. */
export interface Profile {
  readonly displayname?: string;
  readonly avatarUrl?: string;
}

/**
 * Sends and changes things in Matrix as the bot. Every call that creates an event takes an
 * idempotency `key`, derived from what caused it; the same key never yields two events
 * (the adapter turns it into the transaction id), so a replay after a crash sends nothing twice.
 */
export interface Messenger {
  readonly botUser: UserId;
  send(room: RoomId, message: OutgoingMessage, key: string): Promise<EventId>;
  /** Replaces the content of an earlier event of the bot's (`m.replace`). */
  edit(room: RoomId, target: EventId, message: OutgoingMessage, key: string): Promise<EventId>;
  react(room: RoomId, target: EventId, reaction: string, key: string): Promise<EventId>;
  redact(room: RoomId, target: EventId, reason: string | undefined, key: string): Promise<void>;
  join(room: RoomId): Promise<void>;
  leave(room: RoomId): Promise<void>;
  /** Declines an invite. */
  reject(room: RoomId): Promise<void>;
  invite(room: RoomId, user: UserId): Promise<void>;
  /** Creates a direct room with the user and invites them. */
  createDirectRoom(user: UserId): Promise<RoomId>;
  profile(user: UserId): Promise<Profile>;
  /** Users whose membership is join (and, with `includeInvited`, invite). */
  members(room: RoomId, includeInvited?: boolean): Promise<UserId[]>;
}

/** Counters the Go bot exposed, kept under the same names by the metrics adapter. */
export interface Metrics {
  requestNew(): void;
  requestDone(): void;
  /** A customer message; `source` is the bridge (`telegram`, …) or `matrix`. */
  customerMessage(source: string, sender: string, domain: string): void;
  operatorMessage(): void;
}
