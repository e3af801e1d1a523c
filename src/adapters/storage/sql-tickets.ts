import { HonoroitError } from "../../core/errors.ts";
import { serverOf } from "../../core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../core/ids.ts";
import type { ImportedTicket, ImportResult, OpenedTicket, RequestCount, TicketImport, TicketStore } from "../../core/ports/storage.ts";
import type { NewTicket, Ticket, TicketFilter, TicketStatus } from "../../core/ticket.ts";
import { int, intOrNull, limitOf, text, textOrNull } from "./sql.ts";
import type { DialectSql, Row, SqlExecutor, SqlValue } from "./sql.ts";

/** How often `open` tries again when the open ticket it collided with was closed meanwhile. */
const OPEN_ATTEMPTS = 5;

/** Tickets and request counters in SQL, on the whole database or one transaction. */
export class SqlTicketStore implements TicketStore {
  readonly #db: SqlExecutor;
  readonly #dialect: DialectSql;

  constructor(db: SqlExecutor, dialect: DialectSql) {
    this.#db = db;
    this.#dialect = dialect;
  }

  async open(input: NewTicket): Promise<OpenedTicket> {
    const homeserver = serverOf(input.customer);
    const at = input.openedAt.getTime();
    for (let attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
      const result = await this.#db.transaction(async (tx): Promise<OpenedTicket | undefined> => {
        // Insert first: the partial unique index makes a concurrent caller for the same room
        // wait for our commit and then do nothing, so only one of them ever counts.
        const inserted = await tx.get(
          `INSERT INTO tickets (customer, homeserver, customer_room, status, opened_at, last_activity_at,
             customer_ordinal, homeserver_ordinal)
           VALUES (?, ?, ?, 'open', ?, ?, 0, 0)
           ON CONFLICT (customer_room) WHERE status = 'open' DO NOTHING
           RETURNING id`,
          [input.customer, homeserver, input.customerRoom, at, at],
        );
        if (inserted !== undefined) {
          const count = await bumpCounters(tx, input.customer, homeserver);
          const row = await tx.get("UPDATE tickets SET customer_ordinal = ?, homeserver_ordinal = ? WHERE id = ? RETURNING *", [
            count.customerOrdinal,
            count.homeserverOrdinal,
            int(inserted, "id"),
          ]);
          return row === undefined ? undefined : opened(row, true);
        }
        // PostgreSQL reads committed data per statement, so this sees the ticket that won the race.
        const existing = await tx.get("SELECT * FROM tickets WHERE customer_room = ? AND status = 'open'", [input.customerRoom]);
        return existing === undefined ? undefined : opened(existing, false);
      });
      // undefined: the winner was closed between our insert and our read; try again.
      if (result !== undefined) return result;
    }
    throw new Error(`could not open a ticket for ${input.customerRoom}: it kept being closed concurrently`);
  }

  countRequest(customer: UserId): Promise<RequestCount> {
    return this.#db.transaction((tx) => bumpCounters(tx, customer, serverOf(customer)));
  }

  get(id: TicketId): Promise<Ticket | undefined> {
    return this.#one("SELECT * FROM tickets WHERE id = ?", [id]);
  }

  findOpenByRoom(room: RoomId): Promise<Ticket | undefined> {
    return this.#one("SELECT * FROM tickets WHERE customer_room = ? AND status = 'open'", [room]);
  }

  findByThread(root: EventId): Promise<Ticket | undefined> {
    return this.#one("SELECT * FROM tickets WHERE thread_root = ? ORDER BY opened_at DESC, id DESC LIMIT 1", [root]);
  }

  findByIssue(issueId: number): Promise<Ticket | undefined> {
    return this.#one("SELECT * FROM tickets WHERE redmine_issue_id = ? ORDER BY opened_at DESC, id DESC LIMIT 1", [issueId]);
  }

  async list(filter: TicketFilter): Promise<Ticket[]> {
    const query = listTicketsQuery(filter);
    return (await this.#db.all(query.text, query.params)).map(toTicket);
  }

  async *stream(filter: TicketFilter): AsyncGenerator<Ticket> {
    const query = listTicketsQuery(filter);
    for await (const row of this.#db.iterate(query.text, query.params)) yield toTicket(row);
  }

  async count(filter: TicketFilter): Promise<number> {
    const query = countTicketsQuery(filter);
    const row = await this.#db.get(query.text, query.params);
    return row === undefined ? 0 : int(row, "n");
  }

  setThreadRoot(id: TicketId, root: EventId): Promise<void> {
    return this.#update(id, "UPDATE tickets SET thread_root = ? WHERE id = ?", root);
  }

  setTitle(id: TicketId, title: string): Promise<void> {
    return this.#update(id, "UPDATE tickets SET title = ? WHERE id = ?", title);
  }

  setIssue(id: TicketId, issueId: number): Promise<void> {
    return this.#update(id, "UPDATE tickets SET redmine_issue_id = ? WHERE id = ?", issueId);
  }

  setGreeted(id: TicketId, at: Date): Promise<void> {
    return this.#update(id, "UPDATE tickets SET greeted_at = ? WHERE id = ?", at.getTime());
  }

  touch(id: TicketId, at: Date): Promise<void> {
    // Never backwards: a replayed, older event must not make a busy ticket look idle.
    return this.#update(
      id,
      `UPDATE tickets SET last_activity_at = ${this.#dialect.greatest}(last_activity_at, ?) WHERE id = ?`,
      at.getTime(),
    );
  }

  close(id: TicketId, at: Date, reason: string): Promise<Ticket | undefined> {
    return this.#one(
      "UPDATE tickets SET status = 'closed', closed_at = ?, close_reason = ? WHERE id = ? AND status = 'open' RETURNING *",
      [at.getTime(), reason, id],
    );
  }

  async listIdle(before: Date, limit: number): Promise<Ticket[]> {
    const rows = await this.#db.all(
      "SELECT * FROM tickets WHERE status = 'open' AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?",
      [before.getTime(), limitOf(limit)],
    );
    return rows.map(toTicket);
  }

  async #one(sql: string, params: readonly SqlValue[]): Promise<Ticket | undefined> {
    const row = await this.#db.get(sql, params);
    return row === undefined ? undefined : toTicket(row);
  }

  async #update(id: TicketId, sql: string, value: SqlValue): Promise<void> {
    if ((await this.#db.run(sql, [value, id])) === 0) throw noSuchTicket(id);
  }
}

/** Increments both counters in the caller's transaction, user before server: a fixed order, so two never deadlock. */
async function bumpCounters(tx: SqlExecutor, customer: UserId, homeserver: string): Promise<RequestCount> {
  const bump = async (scope: "user" | "server", key: string): Promise<number> => {
    const row = await tx.get(
      `INSERT INTO request_counters (scope, key, count) VALUES (?, ?, 1)
       ON CONFLICT (scope, key) DO UPDATE SET count = request_counters.count + 1 RETURNING count`,
      [scope, key],
    );
    if (row === undefined) throw new Error("INSERT … RETURNING gave no row");
    return int(row, "count");
  };
  const customerOrdinal = await bump("user", customer);
  const homeserverOrdinal = await bump("server", homeserver);
  return { customerOrdinal, homeserverOrdinal };
}

/** Tickets brought over from another helpdesk, keyed by their thread root. */
export class SqlTicketImport implements TicketImport {
  readonly #db: SqlExecutor;
  readonly #dialect: DialectSql;

  constructor(db: SqlExecutor, dialect: DialectSql) {
    this.#db = db;
    this.#dialect = dialect;
  }

  async insert(t: ImportedTicket): Promise<ImportResult> {
    const existing = await this.#db.get("SELECT * FROM tickets WHERE thread_root = ? ORDER BY id LIMIT 1", [t.threadRoot]);
    if (existing !== undefined) return { kind: "existing", ticket: toTicket(existing) };
    const opened = t.openedAt.getTime();
    // DO NOTHING without a target also covers the one-open-ticket-per-room index.
    const row = await this.#db.get(
      `INSERT INTO tickets (customer, homeserver, customer_room, thread_root, status, title, opened_at, closed_at,
         last_activity_at, close_reason, redmine_issue_id, customer_ordinal, homeserver_ordinal, greeted_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [
        t.customer, serverOf(t.customer), t.customerRoom, t.threadRoot, t.status, t.title, opened, t.closedAt?.getTime() ?? null,
        Math.max(opened, t.lastActivityAt.getTime()), t.status === "closed" ? "imported" : null, t.redmineIssueId,
        t.customerOrdinal, t.homeserverOrdinal, opened,
      ],
    );
    if (row !== undefined) return { kind: "inserted", ticket: toTicket(row) };
    const holder = await this.#db.get("SELECT id FROM tickets WHERE customer_room = ? AND status = 'open'", [t.customerRoom]);
    if (holder === undefined) throw new Error(`importing the ticket of thread ${t.threadRoot} conflicted with nothing visible`);
    return { kind: "conflict", existing: int(holder, "id") as TicketId };
  }

  async raiseCount(scope: "user" | "server", key: string, atLeast: number): Promise<boolean> {
    const before = await this.#db.get("SELECT count FROM request_counters WHERE scope = ? AND key = ?", [scope, key]);
    if (before !== undefined && int(before, "count") >= atLeast) return false;
    await this.#db.run(
      `INSERT INTO request_counters (scope, key, count) VALUES (?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET count = ${this.#dialect.greatest}(request_counters.count, excluded.count)`,
      [scope, key, atLeast],
    );
    return true;
  }
}

/** The error for a ticket id that does not exist. */
function noSuchTicket(id: TicketId): HonoroitError {
  return new HonoroitError("NOT_FOUND", `no ticket #${id}`);
}

/**
 * Throws NOT_FOUND unless the ticket exists. Writes that refer to a ticket insert only when it
 * exists and ask this when nothing was inserted, instead of letting the foreign key fail: on
 * PostgreSQL a failed statement aborts the whole transaction, so a caller that catches the
 * NOT_FOUND could not go on with it, as it can on SQLite.
 */
export async function requireTicket(db: SqlExecutor, id: TicketId): Promise<void> {
  if ((await db.get("SELECT 1 AS one FROM tickets WHERE id = ?", [id])) === undefined) throw noSuchTicket(id);
}

function opened(row: Row, created: boolean): OpenedTicket {
  return {
    ticket: toTicket(row),
    created,
    customerOrdinal: int(row, "customer_ordinal"),
    homeserverOrdinal: int(row, "homeserver_ordinal"),
  };
}

function ticketStatus(value: string): TicketStatus {
  if (value === "open" || value === "closed") return value;
  throw new Error(`unexpected ticket status in the database: ${JSON.stringify(value)}`);
}

// Values in these rows were validated on the way in, so the branded casts are sound here.
function toTicket(row: Row): Ticket {
  const closedAt = intOrNull(row, "closed_at");
  const greetedAt = intOrNull(row, "greeted_at");
  return {
    id: int(row, "id") as TicketId,
    customer: text(row, "customer") as UserId,
    homeserver: text(row, "homeserver"),
    customerRoom: text(row, "customer_room") as RoomId,
    threadRoot: textOrNull(row, "thread_root") as EventId | null,
    status: ticketStatus(text(row, "status")),
    title: textOrNull(row, "title"),
    openedAt: new Date(int(row, "opened_at")),
    closedAt: closedAt === null ? null : new Date(closedAt),
    lastActivityAt: new Date(int(row, "last_activity_at")),
    closeReason: textOrNull(row, "close_reason"),
    redmineIssueId: intOrNull(row, "redmine_issue_id"),
    greetedAt: greetedAt === null ? null : new Date(greetedAt),
  };
}

/** A statement and its parameters. */
export interface SqlQuery {
  readonly text: string;
  readonly params: readonly SqlValue[];
}

function ticketWhere(filter: TicketFilter): SqlQuery {
  const terms: string[] = [];
  const params: SqlValue[] = [];
  // Status is written as a literal, not bound, so the planner can match it to partial indexes.
  if (filter.status === "open") terms.push("status = 'open'");
  else if (filter.status === "closed") terms.push("status = 'closed'");
  if (filter.customer !== undefined) {
    terms.push("customer = ?");
    params.push(filter.customer);
  }
  if (filter.since !== undefined) {
    terms.push("opened_at >= ?");
    params.push(filter.since.getTime());
  }
  return { text: terms.length === 0 ? "" : ` WHERE ${terms.join(" AND ")}`, params };
}

/** The query behind `list`: newest first, served in order by an index at any size. */
export function listTicketsQuery(filter: TicketFilter): SqlQuery {
  const where = ticketWhere(filter);
  const text = `SELECT * FROM tickets${where.text} ORDER BY opened_at DESC, id DESC`;
  return filter.limit === undefined
    ? { text, params: where.params }
    : { text: `${text} LIMIT ?`, params: [...where.params, limitOf(filter.limit)] };
}

/** The query behind `count`; it ignores `limit`. */
export function countTicketsQuery(filter: TicketFilter): SqlQuery {
  const where = ticketWhere(filter);
  return { text: `SELECT COUNT(*) AS n FROM tickets${where.text}`, params: where.params };
}
