import type { EventId, RoomId, TicketId, UserId } from "../../core/ids.ts";
import type { EventJournal, Ledger, RelayKind, RelayLog, RelayRecord } from "../../core/ports/storage.ts";
import { int, text, textOrNull } from "./sql.ts";
import type { Row, SqlExecutor } from "./sql.ts";
import { requireTicket } from "./sql-tickets.ts";

// What happened to events: their relayed copies, whether they were handled, and the results of
// effects that must happen once.

/** Relayed events and their copies in SQL. */
export class SqlRelayLog implements RelayLog {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async record(record: RelayRecord): Promise<void> {
    // Inserts nothing for an unknown ticket rather than failing its foreign key (see requireTicket).
    const added = await this.#db.run(
      `INSERT INTO relays (source_event, ticket_id, kind, source_room, source_sender, target_room, target_event)
       SELECT ?, id, ?, ?, ?, ?, ? FROM tickets WHERE id = ?
       ON CONFLICT (source_event) DO NOTHING`,
      [record.sourceEvent, record.kind, record.sourceRoom, record.sourceSender, record.targetRoom, record.targetEvent, record.ticketId],
    );
    if (added === 0) await requireTicket(this.#db, record.ticketId);
  }

  async bySource(source: EventId): Promise<RelayRecord | undefined> {
    const row = await this.#db.get("SELECT * FROM relays WHERE source_event = ?", [source]);
    return row === undefined ? undefined : toRelay(row);
  }

  async byTarget(target: EventId): Promise<RelayRecord | undefined> {
    const row = await this.#db.get("SELECT * FROM relays WHERE target_event = ? LIMIT 1", [target]);
    return row === undefined ? undefined : toRelay(row);
  }
}

/** Handled events in SQL. */
export class SqlEventJournal implements EventJournal {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async isHandled(event: EventId): Promise<boolean> {
    return (await this.#db.get("SELECT 1 AS one FROM handled_events WHERE event_id = ?", [event])) !== undefined;
  }

  async markHandled(event: EventId, at: Date): Promise<void> {
    await this.#db.run("INSERT INTO handled_events (event_id, handled_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING", [
      event,
      at.getTime(),
    ]);
  }

  prune(before: Date): Promise<number> {
    return this.#db.run("DELETE FROM handled_events WHERE handled_at < ?", [before.getTime()]);
  }
}

/** Once-only results in SQL. */
export class SqlLedger implements Ledger {
  readonly #db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.#db = db;
  }

  async get(key: string): Promise<string | undefined> {
    const row = await this.#db.get("SELECT value FROM ledger WHERE key = ?", [key]);
    return row === undefined ? undefined : text(row, "value");
  }

  async put(key: string, value: string, at: Date): Promise<void> {
    await this.#db.run("INSERT INTO ledger (key, value, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING", [key, value, at.getTime()]);
  }

  prune(before: Date): Promise<number> {
    return this.#db.run("DELETE FROM ledger WHERE at < ?", [before.getTime()]);
  }
}

function relayKind(value: string): RelayKind {
  if (value === "customer-to-thread" || value === "operator-to-customer" || value === "bot") return value;
  throw new Error(`unexpected relay kind in the database: ${JSON.stringify(value)}`);
}

// Values in these rows were validated on the way in, so the branded casts are sound here.
function toRelay(row: Row): RelayRecord {
  return {
    ticketId: int(row, "ticket_id") as TicketId,
    kind: relayKind(text(row, "kind")),
    sourceRoom: text(row, "source_room") as RoomId,
    sourceEvent: text(row, "source_event") as EventId,
    sourceSender: textOrNull(row, "source_sender") as UserId | null,
    targetRoom: text(row, "target_room") as RoomId,
    targetEvent: text(row, "target_event") as EventId,
  };
}
