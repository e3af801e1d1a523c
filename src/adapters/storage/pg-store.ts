import { setTimeout as delay } from "node:timers/promises";
import { DatabaseError, Pool, TypeOverrides } from "pg";
import type { PoolClient, QueryResultRow } from "pg";
import { HonoroitError } from "../../core/errors.ts";
import { serverOf } from "../../core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../core/ids.ts";
import type {
  Clock,
  Logger,
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

export interface PgStoreOptions {
  /** Stamps `schema_migrations.applied_at` and `options.updated_at`; the system clock by default. */
  readonly clock?: Clock;
  /** Told about errors on idle pooled connections (e.g. the server restarted). */
  readonly logger?: Logger;
  /** How long to wait for a connection (ms); unset in `pg` means forever, which hides outages. */
  readonly connectTimeoutMs?: number;
  /** Pool size. */
  readonly maxConnections?: number;
}

const SYSTEM_CLOCK: Clock = { now: () => new Date() };
const PG_PLACEHOLDER = (n: number): string => `$${n}`;
const TOKEN_KEY = "token";
/** "honoroit" in ASCII: the key of the advisory lock taken while migrating. */
const MIGRATION_LOCK_KEY = "7524853744453004660";
/** The longest close() waits for pooled connections to finish closing. */
const CLOSE_WAIT_MS = 2000;
/** How often openTicket retries when the open ticket it collided with was closed meanwhile. */
const OPEN_ATTEMPTS = 5;

type Queryable = Pick<PoolClient, "query">;

/** The whole `Store` on PostgreSQL through a `pg` pool. */
export class PgTicketStore implements Store {
  readonly dialect = "postgres";
  readonly #pool: Pool;
  readonly #clock: Clock;
  readonly #target: string;
  #closed = false;

  private constructor(pool: Pool, clock: Clock, target: string) {
    this.#pool = pool;
    this.#clock = clock;
    this.#target = target;
  }

  /**
   * Connects to the database named by a `postgres://` DSN and checks it answers.
   * Does not migrate. Throws UNREACHABLE (without the password) when it cannot connect.
   */
  static async connect(dsn: string, options: PgStoreOptions = {}): Promise<PgTicketStore> {
    checkDsn(dsn);
    // BIGINT (int8) columns hold epoch milliseconds and ids, all well inside 2^53: read them as
    // numbers. Per pool, not the global pg.types, so nothing else in the process is affected.
    const types = new TypeOverrides();
    types.setTypeParser(20, (value: string) => Number(value));
    const pool = new Pool({
      connectionString: dsn,
      types,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      max: options.maxConnections ?? 10,
    });
    // Without a listener an idle connection dropped by the server would crash the process;
    // the next query reports the outage anyway.
    pool.on("error", (e) => options.logger?.warn("PostgreSQL connection lost", { error: e.message }));
    const store = new PgTicketStore(pool, options.clock ?? SYSTEM_CLOCK, describeTarget(dsn));
    try {
      await store.#query("SELECT 1");
    } catch (e) {
      await pool.end().catch(() => undefined);
      // Whatever stops `SELECT 1` (TLS refused, bad role, no database…) is a failure to reach it.
      if (e instanceof HonoroitError) throw e;
      throw new HonoroitError("UNREACHABLE", `cannot reach PostgreSQL at ${store.#target}: ${connectionReason(e)}`, {
        cause: e,
      });
    }
    return store;
  }

  // --- migrations -----------------------------------------------------------------------

  migrate(): Promise<MigrationInfo[]> {
    return this.#withClient(async (client) => {
      // Each step takes a transaction-level advisory lock, so a second `migrate` (or `serve`
      // starting) waits for the step in progress, then sees it done. The lock ends with the
      // transaction, so no connection is ever handed back to the pool still holding it.
      const lock = (): Promise<unknown> => client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await inTransaction(client, async () => {
        await lock();
        await client.query(SCHEMA_MIGRATIONS_DDL);
      });
      const applied: MigrationInfo[] = [];
      for (const migration of MIGRATIONS) {
        const done = await inTransaction(client, async (): Promise<MigrationInfo | undefined> => {
          await lock();
          const found = await client.query("SELECT 1 AS one FROM schema_migrations WHERE version = $1", [migration.version]);
          if (found.rows.length > 0) return undefined;
          await client.query(migration.sql.postgres);
          const appliedAt = this.#clock.now();
          await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
            migration.version,
            migration.name,
            appliedAt.getTime(),
          ]);
          return { version: migration.version, name: migration.name, appliedAt };
        });
        if (done !== undefined) applied.push(done);
      }
      return applied;
    });
  }

  async migrationStatus(): Promise<MigrationInfo[]> {
    const exists = await this.#query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
    const rows =
      exists[0]?.t == null ? [] : await this.#query<MigrationRow>("SELECT version, name, applied_at FROM schema_migrations");
    return describeMigrations(new Map(rows.map((r) => [r.version, { name: r.name, appliedAt: new Date(r.applied_at) }])));
  }

  // --- tickets --------------------------------------------------------------------------

  openTicket(input: NewTicket): Promise<OpenedTicket> {
    const homeserver = serverOf(input.customer);
    const at = input.openedAt.getTime();
    return this.#withClient(async (client) => {
      for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        const result = await inTransaction(client, async (): Promise<OpenedTicket | undefined> => {
          // Insert first: the partial unique index makes a concurrent caller for the same room
          // wait for our commit and then do nothing, so only one of them ever counts.
          const inserted = await client.query<{ id: number }>(
            `INSERT INTO tickets (customer, homeserver, customer_room, status, opened_at, last_activity_at,
               customer_ordinal, homeserver_ordinal)
             VALUES ($1, $2, $3, 'open', $4, $4, 0, 0)
             ON CONFLICT (customer_room) WHERE status = 'open' DO NOTHING
             RETURNING id`,
            [input.customer, homeserver, input.customerRoom, at],
          );
          const id = inserted.rows[0]?.id;
          if (id !== undefined) {
            const count = await bumpCounters(client, input.customer, homeserver);
            const row = await client.query<TicketRow>(
              "UPDATE tickets SET customer_ordinal = $1, homeserver_ordinal = $2 WHERE id = $3 RETURNING *",
              [count.customerOrdinal, count.homeserverOrdinal, id],
            );
            return mapOptional(row.rows[0], (r) => opened(r, true));
          }
          // Read committed: this new statement sees the ticket that won the race.
          const existing = await client.query<TicketRow>(
            "SELECT * FROM tickets WHERE customer_room = $1 AND status = 'open'",
            [input.customerRoom],
          );
          return mapOptional(existing.rows[0], (r) => opened(r, false));
        });
        // undefined: the winner was closed between our insert and our read; try again.
        if (result !== undefined) return result;
      }
      throw new Error(`could not open a ticket for ${input.customerRoom}: it kept being closed concurrently`);
    });
  }

  countRequest(customer: UserId): Promise<RequestCount> {
    return this.#withClient((client) => inTransaction(client, () => bumpCounters(client, customer, serverOf(customer))));
  }

  getTicket(id: TicketId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE id = $1", [id]);
  }

  findOpenByRoom(room: RoomId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE customer_room = $1 AND status = 'open'", [room]);
  }

  findByThread(root: EventId): Promise<Ticket | undefined> {
    return this.#ticket("SELECT * FROM tickets WHERE thread_root = $1 ORDER BY opened_at DESC, id DESC LIMIT 1", [root]);
  }

  findByRedmineIssue(issueId: number): Promise<Ticket | undefined> {
    return this.#ticket(
      "SELECT * FROM tickets WHERE redmine_issue_id = $1 ORDER BY opened_at DESC, id DESC LIMIT 1",
      [issueId],
    );
  }

  async listTickets(filter: TicketFilter): Promise<Ticket[]> {
    const query = listTicketsQuery(filter, PG_PLACEHOLDER);
    return (await this.#query<TicketRow>(query.text, query.params)).map(toTicket);
  }

  async countTickets(filter: TicketFilter): Promise<number> {
    const query = countTicketsQuery(filter, PG_PLACEHOLDER);
    return (await this.#query<{ n: number }>(query.text, query.params))[0]?.n ?? 0;
  }

  setThreadRoot(id: TicketId, root: EventId): Promise<void> {
    return this.#update(id, "UPDATE tickets SET thread_root = $1 WHERE id = $2", root);
  }

  setTitle(id: TicketId, title: string): Promise<void> {
    return this.#update(id, "UPDATE tickets SET title = $1 WHERE id = $2", title);
  }

  setRedmineIssue(id: TicketId, issueId: number): Promise<void> {
    return this.#update(id, "UPDATE tickets SET redmine_issue_id = $1 WHERE id = $2", issueId);
  }

  touch(id: TicketId, at: Date): Promise<void> {
    // Never backwards: a replayed, older event must not make a busy ticket look idle.
    return this.#update(id, "UPDATE tickets SET last_activity_at = GREATEST(last_activity_at, $1) WHERE id = $2", at.getTime());
  }

  closeTicket(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined> {
    return this.#ticket(
      "UPDATE tickets SET status = 'closed', closed_at = $1, close_reason = $2 WHERE id = $3 AND status = 'open' RETURNING *",
      [at.getTime(), reason, id],
    );
  }

  async listIdleTickets(before: Date, limit: number): Promise<Ticket[]> {
    const rows = await this.#query<TicketRow>(
      "SELECT * FROM tickets WHERE status = 'open' AND last_activity_at < $1 ORDER BY last_activity_at, id LIMIT $2",
      [before.getTime(), Math.max(0, Math.floor(limit))],
    );
    return rows.map(toTicket);
  }

  // --- relays, journal, sync ------------------------------------------------------------

  async recordRelay(record: RelayRecord): Promise<void> {
    await this.#query(
      `INSERT INTO relays (source_event, ticket_id, kind, source_room, target_room, target_event)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_event) DO NOTHING`,
      [record.sourceEvent, record.ticketId, record.kind, record.sourceRoom, record.targetRoom, record.targetEvent],
      record.ticketId,
    );
  }

  async findRelayBySource(source: EventId): Promise<RelayRecord | undefined> {
    return mapOptional((await this.#query<RelayRow>("SELECT * FROM relays WHERE source_event = $1", [source]))[0], toRelay);
  }

  async findRelayByTarget(target: EventId): Promise<RelayRecord | undefined> {
    const rows = await this.#query<RelayRow>("SELECT * FROM relays WHERE target_event = $1 LIMIT 1", [target]);
    return mapOptional(rows[0], toRelay);
  }

  async isHandled(event: EventId): Promise<boolean> {
    return (await this.#query("SELECT 1 AS one FROM handled_events WHERE event_id = $1", [event])).length > 0;
  }

  async markHandled(event: EventId, at: Date): Promise<void> {
    await this.#query(
      "INSERT INTO handled_events (event_id, handled_at) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
      [event, at.getTime()],
    );
  }

  pruneHandled(before: Date): Promise<number> {
    return this.#delete("DELETE FROM handled_events WHERE handled_at < $1", [before.getTime()]);
  }

  async sentEvent(key: string): Promise<EventId | undefined> {
    const rows = await this.#query<{ event_id: string }>("SELECT event_id FROM sent_messages WHERE key = $1", [key]);
    return rows[0]?.event_id as EventId | undefined;
  }

  async recordSent(key: string, event: EventId, at: Date): Promise<void> {
    await this.#query(
      "INSERT INTO sent_messages (key, event_id, sent_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
      [key, event, at.getTime()],
    );
  }

  pruneSent(before: Date): Promise<number> {
    return this.#delete("DELETE FROM sent_messages WHERE sent_at < $1", [before.getTime()]);
  }

  async getSyncToken(): Promise<string | undefined> {
    return (await this.#query<{ value: string }>("SELECT value FROM sync_state WHERE name = $1", [TOKEN_KEY]))[0]?.value;
  }

  async setSyncToken(token: string): Promise<void> {
    await this.#query(
      "INSERT INTO sync_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      [TOKEN_KEY, token],
    );
  }

  // --- options and key-value ------------------------------------------------------------

  async getOptions(): Promise<ReadonlyMap<string, string>> {
    const rows = await this.#query<{ key: string; value: string }>("SELECT key, value FROM options ORDER BY key");
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  async setOption(key: string, value: string): Promise<void> {
    await this.#query(
      `INSERT INTO options (key, value, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      [key, value, this.#clock.now().getTime()],
    );
  }

  async deleteOption(key: string): Promise<void> {
    await this.#query("DELETE FROM options WHERE key = $1", [key]);
  }

  async kvGet(namespace: string, key: string): Promise<string | undefined> {
    const rows = await this.#query<{ value: string }>("SELECT value FROM kv WHERE namespace = $1 AND key = $2", [
      namespace,
      key,
    ]);
    return rows[0]?.value;
  }

  async kvSet(namespace: string, key: string, value: string): Promise<void> {
    await this.#query(
      "INSERT INTO kv (namespace, key, value) VALUES ($1, $2, $3) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
      [namespace, key, value],
    );
  }

  async kvDelete(namespace: string, key: string): Promise<void> {
    await this.#query("DELETE FROM kv WHERE namespace = $1 AND key = $2", [namespace, key]);
  }

  async kvList(namespace: string): Promise<ReadonlyMap<string, string>> {
    const rows = await this.#query<{ key: string; value: string }>(
      "SELECT key, value FROM kv WHERE namespace = $1 ORDER BY key",
      [namespace],
    );
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  // --- Redmine sync ---------------------------------------------------------------------

  async isNoteSynced(ticketId: TicketId, noteId: number): Promise<boolean> {
    const rows = await this.#query("SELECT 1 AS one FROM redmine_notes WHERE ticket_id = $1 AND note_id = $2", [
      ticketId,
      noteId,
    ]);
    return rows.length > 0;
  }

  async markNoteSynced(ticketId: TicketId, noteId: number): Promise<void> {
    await this.#query(
      "INSERT INTO redmine_notes (ticket_id, note_id) VALUES ($1, $2) ON CONFLICT (ticket_id, note_id) DO NOTHING",
      [ticketId, noteId],
      ticketId,
    );
  }

  async enqueueOutbox(ticketId: TicketId, kind: string, payload: string, at: Date): Promise<number> {
    const rows = await this.#query<{ id: number }>(
      `INSERT INTO redmine_outbox (ticket_id, kind, payload, attempts, not_before, created_at)
       VALUES ($1, $2, $3, 0, $4, $4) RETURNING id`,
      [ticketId, kind, payload, at.getTime()],
      ticketId,
    );
    const id = rows[0]?.id;
    if (id === undefined) throw new Error("INSERT … RETURNING gave no row");
    return id;
  }

  async dueOutbox(now: Date, limit: number): Promise<OutboxItem[]> {
    const rows = await this.#query<OutboxRow>(
      "SELECT * FROM redmine_outbox WHERE not_before <= $1 ORDER BY id LIMIT $2",
      [now.getTime(), Math.max(0, Math.floor(limit))],
    );
    return rows.map(toOutboxItem);
  }

  async completeOutbox(id: number): Promise<void> {
    await this.#query("DELETE FROM redmine_outbox WHERE id = $1", [id]);
  }

  async retryOutboxLater(id: number, notBefore: Date, error: string): Promise<void> {
    await this.#query(
      "UPDATE redmine_outbox SET attempts = attempts + 1, not_before = $1, last_error = $2 WHERE id = $3",
      [notBefore.getTime(), error, id],
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // pool.end() resolves once its connections are told to end, not once they have. Wait for
    // each one's "remove" (bounded), so that whoever comes next (a DROP DATABASE, a server
    // shutdown) does not cut off a connection still saying goodbye.
    let open = this.#pool.totalCount;
    const allClosed = new Promise<void>((resolveClosed) => {
      if (open === 0) resolveClosed();
      this.#pool.on("remove", () => {
        if (--open <= 0) resolveClosed();
      });
    });
    await this.#pool.end();
    await Promise.race([allClosed, delay(CLOSE_WAIT_MS, undefined, { ref: false })]);
  }

  // --- helpers --------------------------------------------------------------------------

  /**
   * One statement on any pooled connection. `ticketId`, when given, names the ticket a
   * foreign key points at, so a violation reads "no ticket #N".
   */
  async #query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    params: readonly (string | number)[] = [],
    ticketId?: TicketId,
  ): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(text, [...params])).rows;
    } catch (e) {
      if (ticketId !== undefined && e instanceof DatabaseError && e.code === "23503") throw noSuchTicket(ticketId);
      throw this.#mapConnectionError(e);
    }
  }

  /** Work that needs one connection throughout (transactions, session locks). */
  async #withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (e) {
      throw this.#mapConnectionError(e);
    }
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (e) {
      // A connection that failed mid-work may be in any state; do not give it back to the pool.
      if (isConnectionError(e)) broken = e instanceof Error ? e : new Error(String(e));
      throw this.#mapConnectionError(e);
    } finally {
      client.release(broken);
    }
  }

  /** A DELETE on any pooled connection; returns how many rows it removed. */
  async #delete(text: string, params: readonly (string | number)[]): Promise<number> {
    try {
      return (await this.#pool.query(text, [...params])).rowCount ?? 0;
    } catch (e) {
      throw this.#mapConnectionError(e);
    }
  }

  async #ticket(text: string, params: readonly (string | number)[]): Promise<Ticket | undefined> {
    return mapOptional((await this.#query<TicketRow>(text, params))[0], toTicket);
  }

  async #update(id: TicketId, text: string, value: string | number): Promise<void> {
    try {
      const result = await this.#pool.query(text, [value, id]);
      if (result.rowCount === 0) throw noSuchTicket(id);
    } catch (e) {
      throw this.#mapConnectionError(e);
    }
  }

  #mapConnectionError(e: unknown): unknown {
    if (e instanceof HonoroitError || !isConnectionError(e)) return e;
    return new HonoroitError("UNREACHABLE", `cannot reach PostgreSQL at ${this.#target}: ${connectionReason(e)}`, {
      cause: e,
    });
  }
}

/** Runs `work` in BEGIN … COMMIT on `client`, rolling back on any error. */
async function inTransaction<T>(client: Queryable, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

/** Increments both counters, user before server (a fixed order, so two transactions never deadlock). */
async function bumpCounters(client: Queryable, customer: UserId, homeserver: string): Promise<RequestCount> {
  const bump = async (scope: "user" | "server", key: string): Promise<number> => {
    const result = await client.query<{ count: number }>(
      `INSERT INTO request_counters (scope, key, count) VALUES ($1, $2, 1)
       ON CONFLICT (scope, key) DO UPDATE SET count = request_counters.count + 1 RETURNING count`,
      [scope, key],
    );
    const count = result.rows[0]?.count;
    if (count === undefined) throw new Error("INSERT … RETURNING gave no row");
    return count;
  };
  const customerOrdinal = await bump("user", customer);
  const homeserverOrdinal = await bump("server", homeserver);
  return { customerOrdinal, homeserverOrdinal };
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

// Errors that mean "the database is not there for us", as opposed to a bad query.
const NETWORK_REASONS = new Map([
  ["ECONNREFUSED", "connection refused"],
  ["ECONNRESET", "connection reset"],
  ["EPIPE", "connection lost"],
  ["ENOTFOUND", "host not found"],
  ["EAI_AGAIN", "host not found"],
  ["ETIMEDOUT", "timed out"],
  ["EHOSTUNREACH", "no route to host"],
  ["ENETUNREACH", "network unreachable"],
]);
const SERVER_REASONS = new Map([
  ["3D000", "database does not exist"],
  ["28P01", "authentication failed"],
  ["28000", "authentication failed"],
  ["57P01", "the server is shutting down"],
  ["57P03", "the server is not accepting connections yet"],
  ["53300", "too many connections"],
]);

function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = errorCode(e);
  // A server-side error is about the connection only for these codes (a statement timeout is not).
  if (e instanceof DatabaseError) return code !== undefined && SERVER_REASONS.has(code);
  if (code !== undefined && NETWORK_REASONS.has(code)) return true;
  if (e instanceof AggregateError) return (e.errors as unknown[]).some(isConnectionError);
  // pg's own wording for connectionTimeoutMillis and for a socket closed under it.
  return /timeout|Connection terminated/i.test(e.message);
}

function connectionReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e instanceof AggregateError) {
    // Node reports a failed happy-eyeballs connect (IPv6 and IPv4) as one AggregateError.
    const first = (e.errors as unknown[]).find(isConnectionError);
    if (first !== undefined) return connectionReason(first);
  }
  const code = errorCode(e);
  // The server's own wording (`database "x" does not exist`) is the clearest; it holds no password.
  if (e instanceof DatabaseError) return e.message === "" ? (SERVER_REASONS.get(code ?? "") ?? "error") : e.message;
  const network = code === undefined ? undefined : NETWORK_REASONS.get(code);
  return network === undefined ? e.message : `${network} (${code ?? ""})`;
}

function errorCode(e: Error): string | undefined {
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Rejects a DSN `pg` would misread (it takes a non-URL for a host name). The message never
 * repeats the DSN, which may hold a password.
 */
function checkDsn(dsn: string): void {
  const expected = "expected postgres://user:password@host:port/database";
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new HonoroitError("BAD_CONFIG", `the PostgreSQL DSN is not a URL (${expected})`);
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new HonoroitError("BAD_CONFIG", `the PostgreSQL DSN must start with postgres:// (${expected})`);
  }
}

/** `host:port` of a DSN, for messages; never the user name or password. */
export function describeTarget(dsn: string): string {
  try {
    const url = new URL(dsn);
    // A socket directory may be given as ?host=/run/postgresql.
    const host = url.searchParams.get("host") ?? (url.hostname === "" ? "localhost" : decodeURIComponent(url.hostname));
    const port = url.searchParams.get("port") ?? (url.port === "" ? "5432" : url.port);
    return `${host}:${port}`;
  } catch {
    return "the configured DSN";
  }
}
