import { HonoroitError } from "../../core/errors.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../core/ids.ts";
import type { OutboxItem, RelayKind, RelayRecord } from "../../core/ports.ts";
import type { Ticket, TicketFilter, TicketStatus } from "../../core/ticket.ts";

// Row shapes and the ticket-listing SQL shared by the SQLite and PostgreSQL stores. Both
// drivers hand back numbers for BIGINT columns (the pg store installs an int8 parser).

/** A `tickets` row as both drivers return it. */
export interface TicketRow {
  readonly id: number;
  readonly customer: string;
  readonly homeserver: string;
  readonly customer_room: string;
  readonly thread_root: string | null;
  readonly status: string;
  readonly title: string | null;
  readonly opened_at: number;
  readonly closed_at: number | null;
  readonly last_activity_at: number;
  readonly close_reason: string | null;
  readonly redmine_issue_id: number | null;
  readonly customer_ordinal: number;
  readonly homeserver_ordinal: number;
}

export interface RelayRow {
  readonly source_event: string;
  readonly ticket_id: number;
  readonly kind: string;
  readonly source_room: string;
  readonly target_room: string;
  readonly target_event: string;
}

export interface OutboxRow {
  readonly id: number;
  readonly ticket_id: number;
  readonly kind: string;
  readonly payload: string;
  readonly attempts: number;
  readonly not_before: number;
  readonly last_error: string | null;
}

export interface MigrationRow {
  readonly version: number;
  readonly name: string;
  readonly applied_at: number;
}

function ticketStatus(value: string): TicketStatus {
  if (value === "open" || value === "closed") return value;
  throw new Error(`unexpected ticket status in the database: ${JSON.stringify(value)}`);
}

function relayKind(value: string): RelayKind {
  if (value === "customer-to-thread" || value === "operator-to-customer" || value === "bot") return value;
  throw new Error(`unexpected relay kind in the database: ${JSON.stringify(value)}`);
}

// Values in these rows were validated on the way in, so the branded casts are sound here.
export function toTicket(row: TicketRow): Ticket {
  return {
    id: row.id as TicketId,
    customer: row.customer as UserId,
    homeserver: row.homeserver,
    customerRoom: row.customer_room as RoomId,
    threadRoot: row.thread_root as EventId | null,
    status: ticketStatus(row.status),
    title: row.title,
    openedAt: new Date(row.opened_at),
    closedAt: row.closed_at === null ? null : new Date(row.closed_at),
    lastActivityAt: new Date(row.last_activity_at),
    closeReason: row.close_reason,
    redmineIssueId: row.redmine_issue_id,
  };
}

export function toRelay(row: RelayRow): RelayRecord {
  return {
    ticketId: row.ticket_id as TicketId,
    kind: relayKind(row.kind),
    sourceRoom: row.source_room as RoomId,
    sourceEvent: row.source_event as EventId,
    targetRoom: row.target_room as RoomId,
    targetEvent: row.target_event as EventId,
  };
}

export function toOutboxItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    ticketId: row.ticket_id as TicketId,
    kind: row.kind,
    payload: row.payload,
    attempts: row.attempts,
    notBefore: new Date(row.not_before),
    lastError: row.last_error,
  };
}

/** Writes the n-th (1-based) bind placeholder: `?` for SQLite, `$n` for PostgreSQL. */
export type Placeholder = (n: number) => string;

export interface SqlQuery {
  readonly text: string;
  readonly params: (string | number)[];
}

function ticketWhere(filter: TicketFilter, placeholder: Placeholder): SqlQuery {
  const terms: string[] = [];
  const params: (string | number)[] = [];
  const bind = (value: string | number): string => {
    params.push(value);
    return placeholder(params.length);
  };
  // Status is written as a literal, not bound, so the planner can match it to partial indexes.
  if (filter.status === "open") terms.push("status = 'open'");
  else if (filter.status === "closed") terms.push("status = 'closed'");
  if (filter.customer !== undefined) terms.push(`customer = ${bind(filter.customer)}`);
  if (filter.since !== undefined) terms.push(`opened_at >= ${bind(filter.since.getTime())}`);
  return { text: terms.length === 0 ? "" : ` WHERE ${terms.join(" AND ")}`, params };
}

/** The query behind `listTickets`: newest first, served in order by an index at any size. */
export function listTicketsQuery(filter: TicketFilter, placeholder: Placeholder): SqlQuery {
  const where = ticketWhere(filter, placeholder);
  let text = `SELECT * FROM tickets${where.text} ORDER BY opened_at DESC, id DESC`;
  const params = [...where.params];
  if (filter.limit !== undefined) {
    params.push(Math.max(0, Math.floor(filter.limit)));
    text += ` LIMIT ${placeholder(params.length)}`;
  }
  return { text, params };
}

/** The query behind `countTickets`; it ignores `limit`. */
export function countTicketsQuery(filter: TicketFilter, placeholder: Placeholder): SqlQuery {
  const where = ticketWhere(filter, placeholder);
  return { text: `SELECT COUNT(*) AS n FROM tickets${where.text}`, params: where.params };
}

/** The error for a ticket id that does not exist (also raised for a foreign key to one). */
export function noSuchTicket(id: TicketId): HonoroitError {
  return new HonoroitError("NOT_FOUND", `no ticket #${id}`);
}
