import type { EventId, RoomId, UserId } from "./ids.ts";
import type { OutgoingMessage } from "./events.ts";

export type {
  Job,
  JobCounts,
  JobQueue,
  KeyValueStore,
  Ledger,
  MigrationInfo,
  Migrator,
  NewJob,
  OpenedTicket,
  OptionStore,
  EventJournal,
  RelayKind,
  RelayLog,
  RelayRecord,
  RequestCount,
  Store,
  StoreScope,
  SyncState,
  TicketStore,
  TrackerNotes,
} from "./ports/storage.ts";

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
  /**
   * Creates a direct room with the user and invites them. The same key always yields the same
   * room, even after a crash between creating it and recording it.
   */
  createDirectRoom(user: UserId, key: string): Promise<RoomId>;
  profile(user: UserId): Promise<Profile>;
  /** Users whose membership is join (and, with `includeInvited`, invite). */
  members(room: RoomId, includeInvited?: boolean): Promise<UserId[]>;
  /** The user's power level in the room (its `m.room.power_levels`, or the spec's defaults). */
  powerLevel(room: RoomId, user: UserId): Promise<number>;
}

/** Where incoming events wait to be handled, as far as the core needs to know. */
export interface EventInbox {
  /**
   * Resolves once every event of `room` received so far is handled: closing a request first
   * lets what the customer wrote before the close reach the thread it was written for.
   */
  settled(room: RoomId): Promise<void>;
}

/** Counters the Go bot exposed, kept under the same names by the metrics adapter. */
export interface Metrics {
  requestNew(): void;
  requestDone(): void;
  /** A customer message; `source` is the bridge (`telegram`, …) or `matrix`. */
  customerMessage(source: string, sender: string, domain: string): void;
  operatorMessage(): void;
  /** Seconds from a message being sent (its server timestamp) to its copy having been sent on. */
  relayLatency(direction: "customer-to-thread" | "operator-to-customer", seconds: number): void;
}

/** How an attempt at an incoming event ended. */
export type EventOutcome = "handled" | "failed" | "retry";

/** What the event pipeline reports. */
export interface PipelineMetrics {
  /** One attempt at an event: handled, failed for good (its sender was told), or to be retried. */
  eventAttempt(outcome: EventOutcome): void;
  /** Events received and not yet handled, and those being handled right now. */
  eventsPending(queued: number, inFlight: number): void;
  /** Seconds from the event's arrival at the bot to the end of its handling. */
  eventHandled(seconds: number): void;
  /** An attempt at an event failed, by cause (it waits, or, `final`, its sender is told). */
  eventError(kind: EventErrorKind): void;
  /** How late the newest event of a /sync answer reached the bot, in seconds after it was sent. */
  syncLag(seconds: number): void;
}

/** Why an attempt at an event failed: a failure cause, or an event that could not be decrypted yet. */
export type EventErrorKind = "unavailable" | "busy" | "not-ready" | "final" | "decryption";

/** How a job or a periodic task ended. */
export type JobOutcome = "done" | "retry" | "failed";

/** What the job runner reports. */
export interface JobMetrics {
  jobRun(kind: string, outcome: JobOutcome): void;
  /** Jobs waiting and jobs given up on, by kind. */
  jobsQueued(counts: { readonly pending: ReadonlyMap<string, number>; readonly failed: ReadonlyMap<string, number> }): void;
  taskRun(task: string, outcome: JobOutcome): void;
}
