import type { EventId, RoomId, TicketId, UserId } from "../ids.ts";
import type { NewTicket, Ticket, TicketFilter } from "../ticket.ts";

// Storage, one small port per concern. One SQL adapter implements them all for SQLite and
// PostgreSQL; `Store.transaction` binds every port to one transaction, so what one event causes
// (its relay record, its handled mark, the ticket, the jobs it queues) commits together.

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
  open(input: NewTicket): Promise<OpenedTicket>;
  /** Counts a request for a user and their homeserver without opening a ticket (`count`). */
  countRequest(customer: UserId): Promise<RequestCount>;
  get(id: TicketId): Promise<Ticket | undefined>;
  findOpenByRoom(room: RoomId): Promise<Ticket | undefined>;
  /** The ticket whose thread root is `root`, open or closed (the newest, should there be several). */
  findByThread(root: EventId): Promise<Ticket | undefined>;
  findByIssue(issueId: number): Promise<Ticket | undefined>;
  /** Tickets matching the filter, newest first. */
  list(filter: TicketFilter): Promise<Ticket[]>;
  /**
   * The same tickets as `list`, read from the database as the loop asks for them, so a listing
   * of any length takes little memory. Until the loop ends it holds the database (SQLite: the
   * whole store waits for it), so use nothing else of the store inside the loop.
   */
  stream(filter: TicketFilter): AsyncIterable<Ticket>;
  /** Number of tickets matching the filter (ignores `limit`). */
  count(filter: TicketFilter): Promise<number>;
  /** These four throw NOT_FOUND for an unknown ticket. */
  setThreadRoot(id: TicketId, root: EventId): Promise<void>;
  setTitle(id: TicketId, title: string): Promise<void>;
  setIssue(id: TicketId, issueId: number): Promise<void>;
  /** Records that the customer was greeted (or that no greeting is due): throws NOT_FOUND. */
  setGreeted(id: TicketId, at: Date): Promise<void>;
  /** Records activity for auto-close; never moves it backwards. */
  touch(id: TicketId, at: Date): Promise<void>;
  /** Closes an open ticket; returns it closed, or undefined when it was not open. */
  close(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined>;
  /** Open tickets whose last activity is before `before`, oldest first. */
  listIdle(before: Date, limit: number): Promise<Ticket[]>;
}

/** Which way a copy went. */
export type RelayKind = "customer-to-thread" | "operator-to-customer" | "bot";

/** A relayed event and its copy on the other side. */
export interface RelayRecord {
  readonly ticketId: TicketId;
  readonly kind: RelayKind;
  readonly sourceRoom: RoomId;
  readonly sourceEvent: EventId;
  /** Who sent the source event (null for relays recorded before it was kept). */
  readonly sourceSender: UserId | null;
  readonly targetRoom: RoomId;
  readonly targetEvent: EventId;
}

/** The map between a relayed event and its copy, used for edits, redactions and reactions. */
export interface RelayLog {
  /** Records a copy; recording the same source event twice keeps the first record. */
  record(record: RelayRecord): Promise<void>;
  bySource(source: EventId): Promise<RelayRecord | undefined>;
  byTarget(target: EventId): Promise<RelayRecord | undefined>;
}

/** Which incoming events have been fully handled, so a replay after a crash does nothing twice. */
export interface EventJournal {
  isHandled(event: EventId): Promise<boolean>;
  markHandled(event: EventId, at: Date): Promise<void>;
  /** Forgets events handled before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/**
 * Results of effects that must happen once, by idempotency key: the event a message became,
 * the ordinals a `count` gave, the room a `start` created. A replay finds and reuses them.
 */
export interface Ledger {
  get(key: string): Promise<string | undefined>;
  /** Records a result; putting the same key twice keeps the first value. */
  put(key: string, value: string, at: Date): Promise<void>;
  /** Forgets results recorded before `before`; returns how many. */
  prune(before: Date): Promise<number>;
}

/** The Matrix sync position, saved only once the events it covers are handled. */
export interface SyncState {
  getToken(): Promise<string | undefined>;
  /** Saves the position, and when it was saved. */
  setToken(token: string, at?: Date): Promise<void>;
  /**
   * When the saved position was saved (undefined: never, or by a version that did not record
   * it). Events after it may be replayed, so their handled marks must be kept.
   */
  savedAt(): Promise<Date | undefined>;
}

/** Runtime chat options (`allow.users`, `text.greetings`, …) as stored strings. */
export interface OptionStore {
  all(): Promise<ReadonlyMap<string, string>>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A namespaced key-value area (the Matrix session, crypto state, imported data). */
export interface KeyValueStore {
  get(namespace: string, key: string): Promise<string | undefined>;
  set(namespace: string, key: string, value: string): Promise<void>;
  delete(namespace: string, key: string): Promise<void>;
  list(namespace: string): Promise<ReadonlyMap<string, string>>;
}

/** Work to do after the fact (a call to an issue tracker, …), queued with its cause. */
export interface NewJob {
  /** Which handler runs it, e.g. `tracker.ticket-opened`. */
  readonly kind: string;
  /**
   * Idempotency key: queueing a key that is pending or failed does nothing. A completed job is
   * deleted, so its key is free again.
   */
  readonly key: string;
  /**
   * Jobs of one lane run one at a time, in the order queued (e.g. `ticket:42`), whatever their
   * kind; none: any order.
   */
  readonly lane?: string;
  /** JSON. */
  readonly payload: string;
  /** Not before this moment. */
  readonly runAt: Date;
}

/** A queued job as the runner sees it. */
export interface Job {
  readonly id: number;
  readonly kind: string;
  readonly key: string;
  readonly lane: string | null;
  readonly payload: string;
  readonly attempts: number;
  readonly runAt: Date;
  readonly lastError: string | null;
  readonly createdAt: Date;
}

/** Jobs by kind: still to run, and given up on. */
export interface JobCounts {
  readonly pending: ReadonlyMap<string, number>;
  readonly failed: ReadonlyMap<string, number>;
}

/** The durable outbox: jobs written in the same transaction as what caused them. */
export interface JobQueue {
  /** Queues a job; false when a job with its key is pending or failed (see `NewJob.key`). */
  enqueue(job: NewJob): Promise<boolean>;
  /**
   * Pending jobs of these kinds due at `now`, oldest first: in the order queued, not by `runAt`.
   * A job waits while an older pending job of its lane exists, of any kind (even one not asked
   * for) and due or not, so each lane runs in order.
   */
  due(now: Date, kinds: readonly string[], limit: number): Promise<Job[]>;
  /** Done: the job is deleted, which frees its key. Unknown ids are ignored. */
  complete(id: number): Promise<void>;
  /** Failed for now: one more attempt counted, run again at `runAt`. Does nothing to an unknown or failed job. */
  retry(id: number, runAt: Date, error: string): Promise<void>;
  /**
   * Failed for good: this attempt counted too, kept and marked failed, never run again (it no
   * longer blocks its lane). Does nothing to an unknown or failed job.
   */
  fail(id: number, error: string): Promise<void>;
  /** Pending and failed jobs, by kind. */
  counts(): Promise<JobCounts>;
}

/** Issue-tracker notes already relayed into Matrix, per ticket. */
export interface TrackerNotes {
  isSynced(ticketId: TicketId, noteId: number): Promise<boolean>;
  markSynced(ticketId: TicketId, noteId: number): Promise<void>;
}

/** A ticket brought over from another helpdesk (the Go bot), as it was there. */
export interface ImportedTicket {
  readonly customer: UserId;
  /** "" when not known (the Go bot forgets the room of a closed request). */
  readonly customerRoom: RoomId;
  readonly threadRoot: EventId;
  readonly status: "open" | "closed";
  readonly title: string;
  readonly openedAt: Date;
  readonly lastActivityAt: Date;
  readonly closedAt: Date | null;
  readonly redmineIssueId: number | null;
  readonly customerOrdinal: number;
  readonly homeserverOrdinal: number;
}

/** What importing one ticket did. */
export type ImportResult =
  | { readonly kind: "inserted" | "existing"; readonly ticket: Ticket }
  /** An open ticket of ours already holds that customer room. */
  | { readonly kind: "conflict"; readonly existing: TicketId };

/** Writing another helpdesk's state, idempotently. */
export interface TicketImport {
  /** Inserts the ticket unless one with its thread root exists (then returns that one, unchanged). */
  insert(ticket: ImportedTicket): Promise<ImportResult>;
  /** Raises a request counter to at least `atLeast`; true when it changed. */
  raiseCount(scope: "user" | "server", key: string, atLeast: number): Promise<boolean>;
}

/** An entry of the crypto state as kept: opaque (sealed) text. */
export interface CryptoStateEntry {
  readonly id: number;
  readonly entry: string;
}

/**
 * The end-to-end encryption state, kept as a snapshot and a journal of changes since; the
 * adapter that owns the crypto machine decides what the entries mean.
 */
export interface CryptoStateStore {
  /** Appends entries to the journal, in order; returns the id of the last (0 when none). */
  append(entries: readonly string[]): Promise<number>;
  /**
   * The snapshot's parts and the journal after it, oldest first, as of one moment: another
   * process compacting meanwhile cannot make them miss the entries in between.
   */
  saved(): Promise<{ readonly snapshot: string[]; readonly journal: CryptoStateEntry[] }>;
  /** Replaces the snapshot and drops the journal entries it covers (up to `upToId`). */
  compact(parts: readonly string[], upToId: number): Promise<void>;
  /** How many journal entries and characters there are. */
  size(): Promise<{ readonly entries: number; readonly chars: number }>;
}

/** Every storage port. Inside `Store.transaction` they are all bound to that transaction. */
export interface StoreScope {
  readonly tickets: TicketStore;
  readonly relays: RelayLog;
  readonly journal: EventJournal;
  readonly ledger: Ledger;
  readonly sync: SyncState;
  readonly options: OptionStore;
  readonly kv: KeyValueStore;
  readonly jobs: JobQueue;
  readonly notes: TrackerNotes;
  readonly imports: TicketImport;
  readonly crypto: CryptoStateStore;
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

/** Everything the core keeps, on SQLite or PostgreSQL. */
export interface Store extends StoreScope, Migrator {
  readonly dialect: "sqlite" | "postgres";
  /**
   * Runs `work` in one transaction: its writes commit together, or none do when it throws.
   * Use only `tx` inside (the store itself waits for the transaction, so using it there
   * deadlocks on SQLite and escapes the transaction on PostgreSQL). Keep it to database work:
   * it holds the write lock, and it may run again when the database reports a conflict.
   */
  transaction<T>(work: (tx: StoreScope) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
