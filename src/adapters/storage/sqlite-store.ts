import { chmodSync, existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { HonoroitError } from "../../core/errors.ts";
import { serverOf } from "../../core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../core/ids.ts";
import type {
  Clock,
  MigrationInfo,
  OpenedTicket,
  OutboxItem,
  RelayRecord,
  RequestCount,
  Store,
} from "../../core/ports.ts";
import type { NewTicket, Ticket, TicketFilter } from "../../core/ticket.ts";
import { describeMigrations, MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from "./migrations.ts";
import {
  countTicketsQuery,
  listTicketsQuery,
  noSuchTicket,
  toOutboxItem,
  toRelay,
  toTicket,
} from "./ticket-rows.ts";
import type { MigrationRow, OutboxRow, RelayRow, TicketRow } from "./ticket-rows.ts";

/** The database file used when none is configured. */
export const DEFAULT_SQLITE_FILE = "honoroit.db";

export interface SqliteStoreOptions {
  /** Stamps `schema_migrations.applied_at` and `options.updated_at`; the system clock by default. */
  readonly clock?: Clock;
  /** How long a write waits for another process holding the lock (ms). */
  readonly busyTimeoutMs?: number;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };
const SQLITE_PLACEHOLDER = (): string => "?";
const TOKEN_KEY = "token";

/** The whole `Store` on one SQLite file (better-sqlite3: synchronous, so every call is short). */
export class SqliteTicketStore implements Store {
  readonly dialect = "sqlite";
  readonly #db: Database.Database;
  readonly #clock: Clock;
  readonly #statements = new Map<string, Database.Statement>();

  private constructor(db: Database.Database, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
  }

  /**
   * Opens the database file, creating it and its folder if missing; `:memory:` gives a private
   * in-memory database. Does not migrate.
   */
  static open(file: string, options: SqliteStoreOptions = {}): SqliteTicketStore {
    let db: Database.Database;
    try {
      if (file !== ":memory:" && file !== "") mkdirSync(dirname(resolve(file)), { recursive: true });
      db = new Database(file);
    } catch (e) {
      throw new HonoroitError("UNREACHABLE", `cannot open the SQLite database at ${file}: ${reasonOf(e)}`, { cause: e });
    }
    try {
      // WAL lets `honoroit tickets list` read while `serve` writes; busy_timeout makes a second
      // writer (e.g. `honoroit migrate` next to `serve`) wait instead of failing at once.
      db.pragma("journal_mode = WAL");
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      // The database holds the bot's access token: readable by its owner only.
      if (file !== ":memory:" && file !== "") {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
      }
      db.pragma("foreign_keys = ON");
    } catch (e) {
      db.close();
      throw new HonoroitError("UNREACHABLE", `cannot use the SQLite database at ${file}: ${reasonOf(e)}`, { cause: e });
    }
    return new SqliteTicketStore(db, options.clock ?? SYSTEM_CLOCK);
  }

  // --- migrations -----------------------------------------------------------------------

  migrate(): Promise<MigrationInfo[]> {
    return this.#call(() => {
      this.#db.exec(SCHEMA_MIGRATIONS_DDL);
      const applied: MigrationInfo[] = [];
      for (const migration of MIGRATIONS) {
        // BEGIN IMMEDIATE takes the write lock before the check, so two processes migrating
        // one file at once apply each migration exactly once.
        const done = this.#db
          .transaction((): MigrationInfo | undefined => {
            if (this.#get("SELECT 1 AS one FROM schema_migrations WHERE version = ?", migration.version) !== undefined) {
              return undefined;
            }
            this.#db.exec(migration.sql.sqlite);
            const appliedAt = this.#clock.now();
            this.#run(
              "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
              migration.version,
              migration.name,
              appliedAt.getTime(),
            );
            return { version: migration.version, name: migration.name, appliedAt };
          })
          .immediate();
        if (done !== undefined) applied.push(done);
      }
      return applied;
    });
  }

  migrationStatus(): Promise<MigrationInfo[]> {
    return this.#call(() => {
      const exists = this.#get("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
      const rows = exists === undefined ? [] : this.#all<MigrationRow>("SELECT version, name, applied_at FROM schema_migrations");
      return describeMigrations(new Map(rows.map((r) => [r.version, { name: r.name, appliedAt: new Date(r.applied_at) }])));
    });
  }

  // --- tickets --------------------------------------------------------------------------

  openTicket(input: NewTicket): Promise<OpenedTicket> {
    return this.#call(() =>
      this.#db
        .transaction((): OpenedTicket => {
          const existing = this.#get<TicketRow>(
            "SELECT * FROM tickets WHERE customer_room = ? AND status = 'open'",
            input.customerRoom,
          );
          if (existing !== undefined) return opened(existing, false);
          const homeserver = serverOf(input.customer);
          const count = this.#count(input.customer, homeserver);
          const at = input.openedAt.getTime();
          const row = this.#get<TicketRow>(
            `INSERT INTO tickets (customer, homeserver, customer_room, status, opened_at, last_activity_at,
               customer_ordinal, homeserver_ordinal)
             VALUES (?, ?, ?, 'open', ?, ?, ?, ?) RETURNING *`,
            input.customer,
            homeserver,
            input.customerRoom,
            at,
            at,
            count.customerOrdinal,
            count.homeserverOrdinal,
          );
          if (row === undefined) throw new Error("INSERT … RETURNING gave no row");
          return opened(row, true);
        })
        .immediate(),
    );
  }

  countRequest(customer: UserId): Promise<RequestCount> {
    return this.#call(() => this.#db.transaction(() => this.#count(customer, serverOf(customer))).immediate());
  }

  getTicket(id: TicketId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE id = ?", id);
  }

  findOpenByRoom(room: RoomId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE customer_room = ? AND status = 'open'", room);
  }

  findByThread(root: EventId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE thread_root = ? ORDER BY opened_at DESC, id DESC LIMIT 1", root);
  }

  findByRedmineIssue(issueId: number): Promise<Ticket | undefined> {
    return this.#ticket(
      "SELECT * FROM tickets WHERE redmine_issue_id = ? ORDER BY opened_at DESC, id DESC LIMIT 1",
      issueId,
    );
  }

  listTickets(filter: TicketFilter): Promise<Ticket[]> {
    return this.#call(() => {
      const query = listTicketsQuery(filter, SQLITE_PLACEHOLDER);
      return this.#all<TicketRow>(query.text, ...query.params).map(toTicket);
    });
  }

  countTickets(filter: TicketFilter): Promise<number> {
    return this.#call(() => {
      const query = countTicketsQuery(filter, SQLITE_PLACEHOLDER);
      return this.#get<{ n: number }>(query.text, ...query.params)?.n ?? 0;
    });
  }

  setThreadRoot(id: TicketId, root: EventId): Promise<void> {
    return this.#update(id, "UPDATE tickets SET thread_root = ? WHERE id = ?", root);
  }

  setTitle(id: TicketId, title: string): Promise<void> {
    return this.#update(id, "UPDATE tickets SET title = ? WHERE id = ?", title);
  }

  setRedmineIssue(id: TicketId, issueId: number): Promise<void> {
    return this.#update(id, "UPDATE tickets SET redmine_issue_id = ? WHERE id = ?", issueId);
  }

  touch(id: TicketId, at: Date): Promise<void> {
    // Never backwards: a replayed, older event must not make a busy ticket look idle.
    return this.#update(id, "UPDATE tickets SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?", at.getTime());
  }

  closeTicket(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined> {
    return this.#ticket(
      "UPDATE tickets SET status = 'closed', closed_at = ?, close_reason = ? WHERE id = ? AND status = 'open' RETURNING *",
      at.getTime(),
      reason,
      id,
    );
  }

  listIdleTickets(before: Date, limit: number): Promise<Ticket[]> {
    return this.#call(() =>
      this.#all<TicketRow>(
        "SELECT * FROM tickets WHERE status = 'open' AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?",
        before.getTime(),
        Math.max(0, Math.floor(limit)),
      ).map(toTicket),
    );
  }

  // --- relays, journal, sync ------------------------------------------------------------

  recordRelay(record: RelayRecord): Promise<void> {
    return this.#call(() => {
      this.#withTicket(record.ticketId, () =>
        this.#run(
          `INSERT INTO relays (source_event, ticket_id, kind, source_room, target_room, target_event)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_event) DO NOTHING`,
          record.sourceEvent,
          record.ticketId,
          record.kind,
          record.sourceRoom,
          record.targetRoom,
          record.targetEvent,
        ),
      );
    });
  }

  findRelayBySource(source: EventId): Promise<RelayRecord | undefined> {
    return this.#call(() => mapOptional(this.#get<RelayRow>("SELECT * FROM relays WHERE source_event = ?", source), toRelay));
  }

  findRelayByTarget(target: EventId): Promise<RelayRecord | undefined> {
    return this.#call(() =>
      mapOptional(this.#get<RelayRow>("SELECT * FROM relays WHERE target_event = ? LIMIT 1", target), toRelay),
    );
  }

  isHandled(event: EventId): Promise<boolean> {
    return this.#call(() => this.#get("SELECT 1 AS one FROM handled_events WHERE event_id = ?", event) !== undefined);
  }

  markHandled(event: EventId, at: Date): Promise<void> {
    return this.#call(() => {
      this.#run(
        "INSERT INTO handled_events (event_id, handled_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING",
        event,
        at.getTime(),
      );
    });
  }

  pruneHandled(before: Date): Promise<number> {
    return this.#call(() => this.#run("DELETE FROM handled_events WHERE handled_at < ?", before.getTime()).changes);
  }

  sentEvent(key: string): Promise<EventId | undefined> {
    return this.#call(
      () => this.#get<{ event_id: string }>("SELECT event_id FROM sent_messages WHERE key = ?", key)?.event_id as EventId | undefined,
    );
  }

  recordSent(key: string, event: EventId, at: Date): Promise<void> {
    return this.#call(() => {
      this.#run(
        "INSERT INTO sent_messages (key, event_id, sent_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
        key,
        event,
        at.getTime(),
      );
    });
  }

  pruneSent(before: Date): Promise<number> {
    return this.#call(() => this.#run("DELETE FROM sent_messages WHERE sent_at < ?", before.getTime()).changes);
  }

  getSyncToken(): Promise<string | undefined> {
    return this.#call(() => this.#get<{ value: string }>("SELECT value FROM sync_state WHERE name = ?", TOKEN_KEY)?.value);
  }

  setSyncToken(token: string): Promise<void> {
    return this.#call(() => {
      this.#run(
        "INSERT INTO sync_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        TOKEN_KEY,
        token,
      );
    });
  }

  // --- options and key-value ------------------------------------------------------------

  getOptions(): Promise<ReadonlyMap<string, string>> {
    return this.#call(
      () => new Map(this.#all<{ key: string; value: string }>("SELECT key, value FROM options ORDER BY key").map((r) => [r.key, r.value])),
    );
  }

  setOption(key: string, value: string): Promise<void> {
    return this.#call(() => {
      this.#run(
        `INSERT INTO options (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        key,
        value,
        this.#clock.now().getTime(),
      );
    });
  }

  deleteOption(key: string): Promise<void> {
    return this.#call(() => {
      this.#run("DELETE FROM options WHERE key = ?", key);
    });
  }

  kvGet(namespace: string, key: string): Promise<string | undefined> {
    return this.#call(
      () => this.#get<{ value: string }>("SELECT value FROM kv WHERE namespace = ? AND key = ?", namespace, key)?.value,
    );
  }

  kvSet(namespace: string, key: string, value: string): Promise<void> {
    return this.#call(() => {
      this.#run(
        "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
        namespace,
        key,
        value,
      );
    });
  }

  kvDelete(namespace: string, key: string): Promise<void> {
    return this.#call(() => {
      this.#run("DELETE FROM kv WHERE namespace = ? AND key = ?", namespace, key);
    });
  }

  kvList(namespace: string): Promise<ReadonlyMap<string, string>> {
    return this.#call(
      () =>
        new Map(
          this.#all<{ key: string; value: string }>("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", namespace).map(
            (r) => [r.key, r.value],
          ),
        ),
    );
  }

  // --- Redmine sync ---------------------------------------------------------------------

  isNoteSynced(ticketId: TicketId, noteId: number): Promise<boolean> {
    return this.#call(
      () => this.#get("SELECT 1 AS one FROM redmine_notes WHERE ticket_id = ? AND note_id = ?", ticketId, noteId) !== undefined,
    );
  }

  markNoteSynced(ticketId: TicketId, noteId: number): Promise<void> {
    return this.#call(() => {
      this.#withTicket(ticketId, () =>
        this.#run(
          "INSERT INTO redmine_notes (ticket_id, note_id) VALUES (?, ?) ON CONFLICT (ticket_id, note_id) DO NOTHING",
          ticketId,
          noteId,
        ),
      );
    });
  }

  enqueueOutbox(ticketId: TicketId, kind: string, payload: string, at: Date): Promise<number> {
    return this.#call(() => {
      const row = this.#withTicket(ticketId, () =>
        this.#get<{ id: number }>(
          `INSERT INTO redmine_outbox (ticket_id, kind, payload, attempts, not_before, created_at)
           VALUES (?, ?, ?, 0, ?, ?) RETURNING id`,
          ticketId,
          kind,
          payload,
          at.getTime(),
          at.getTime(),
        ),
      );
      if (row === undefined) throw new Error("INSERT … RETURNING gave no row");
      return row.id;
    });
  }

  dueOutbox(now: Date, limit: number): Promise<OutboxItem[]> {
    return this.#call(() =>
      this.#all<OutboxRow>(
        "SELECT * FROM redmine_outbox WHERE not_before <= ? ORDER BY id LIMIT ?",
        now.getTime(),
        Math.max(0, Math.floor(limit)),
      ).map(toOutboxItem),
    );
  }

  completeOutbox(id: number): Promise<void> {
    return this.#call(() => {
      this.#run("DELETE FROM redmine_outbox WHERE id = ?", id);
    });
  }

  retryOutboxLater(id: number, notBefore: Date, error: string): Promise<void> {
    return this.#call(() => {
      this.#run(
        "UPDATE redmine_outbox SET attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?",
        notBefore.getTime(),
        error,
        id,
      );
    });
  }

  close(): Promise<void> {
    return this.#call(() => {
      if (!this.#db.open) return;
      // Cheap, and keeps the planner's statistics current for long-lived files.
      this.#db.pragma("optimize");
      this.#db.close();
    });
  }

  // --- helpers --------------------------------------------------------------------------

  /** Runs synchronous work as the port's promise; a throw becomes a rejection. */
  #call<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolvePromise) => {
      resolvePromise(work());
    });
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  // The driver types rows as unknown; each SQL text here names its columns, so R is what it returns.
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the row type comes from the SQL text
  #get<R = unknown>(sql: string, ...params: unknown[]): R | undefined {
    return this.#statement(sql).get(...params) as R | undefined;
  }

  #all<R>(sql: string, ...params: unknown[]): R[] {
    return this.#statement(sql).all(...params) as R[];
  }

  #run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.#statement(sql).run(...params);
  }

  #ticket(sql: string, ...params: unknown[]): Promise<Ticket | undefined> {
    return this.#call(() => mapOptional(this.#get<TicketRow>(sql, ...params), toTicket));
  }

  #update(id: TicketId, sql: string, value: string | number): Promise<void> {
    return this.#call(() => {
      if (this.#run(sql, value, id).changes === 0) throw noSuchTicket(id);
    });
  }

  /** Turns a foreign-key failure on `ticket_id` into the person-facing "no ticket #N". */
  #withTicket<T>(id: TicketId, work: () => T): T {
    try {
      return work();
    } catch (e) {
      if (e instanceof Database.SqliteError && e.code === "SQLITE_CONSTRAINT_FOREIGNKEY") throw noSuchTicket(id);
      throw e;
    }
  }

  /** Increments both counters; the caller holds the write transaction. */
  #count(customer: UserId, homeserver: string): RequestCount {
    const bump = (scope: "user" | "server", key: string): number => {
      const row = this.#get<{ count: number }>(
        `INSERT INTO request_counters (scope, key, count) VALUES (?, ?, 1)
         ON CONFLICT (scope, key) DO UPDATE SET count = request_counters.count + 1 RETURNING count`,
        scope,
        key,
      );
      if (row === undefined) throw new Error("INSERT … RETURNING gave no row");
      return row.count;
    };
    // Always user before server: the PostgreSQL store locks the rows in this order too.
    return { customerOrdinal: bump("user", customer), homeserverOrdinal: bump("server", homeserver) };
  }
}

function opened(row: TicketRow, created: boolean): OpenedTicket {
  return {
    ticket: toTicket(row),
    created,
    customerOrdinal: row.customer_ordinal,
    homeserverOrdinal: row.homeserver_ordinal,
  };
}

function mapOptional<A, B>(value: A | undefined, map: (a: A) => B): B | undefined {
  return value === undefined ? undefined : map(value);
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
