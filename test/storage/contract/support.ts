import assert from "node:assert/strict";
import { HonoroitError } from "../../../src/core/errors.ts";
import { parseEventId, parseRoomId, parseUserId } from "../../../src/core/ids.ts";
import type { EventId, RoomId, TicketId, UserId } from "../../../src/core/ids.ts";
import type { Clock } from "../../../src/core/ports.ts";
import type { Store } from "../../../src/core/ports/storage.ts";
import type { Ticket } from "../../../src/core/ticket.ts";
import type { Dialect, SqlDatabase } from "../../../src/adapters/storage/sql.ts";
import type { SqlStore } from "../../../src/adapters/storage/sql-store.ts";

const T0 = Date.UTC(2024, 0, 15, 9, 0, 0);
/** A moment `minutes` after the suite's fixed epoch. */
export const at = (minutes: number): Date => new Date(T0 + minutes * 60_000);

/** The stores' clock: what they stamp on migrations, options and queued jobs. */
export const STORE_NOW = at(10_000);
export const STORE_CLOCK: Clock = { now: () => STORE_NOW };

export const user = (name: string, server = "a.example"): UserId => parseUserId(`@${name}:${server}`);
export const room = (name: string): RoomId => parseRoomId(`!${name}:a.example`);
export const event = (name: string): EventId => parseEventId(`$${name}`);

export const ids = (tickets: readonly Ticket[]): TicketId[] => tickets.map((t) => t.id);

export function isNotFound(e: unknown): boolean {
  return e instanceof HonoroitError && e.code === "NOT_FOUND";
}

/** A database the contract runs against: SQLite files, PostgreSQL schemas. */
export interface StoreTarget {
  readonly dialect: Dialect;
  /** A fresh, empty database of its own, never migrated. */
  database(): Promise<SqlDatabase>;
}

/** What each part of the contract is given; whatever it opens is closed after each test. */
export interface Harness {
  readonly dialect: Dialect;
  /** A store on a fresh database, not migrated. */
  unmigrated(): Promise<SqlStore>;
  /** A store on a fresh database, migrated. */
  fresh(): Promise<SqlStore>;
  /** A fresh database to work on directly (e.g. to build an old schema by hand). */
  database(): Promise<SqlDatabase>;
  /** A store over a database from `database()`; closing it closes the database. */
  storeOn(db: SqlDatabase): SqlStore;
}

/** Opens a ticket and asserts it was created. */
export async function openTicket(store: Store, customer: UserId, customerRoom: RoomId, minutes: number): Promise<Ticket> {
  const result = await store.tickets.open({ customer, customerRoom, openedAt: at(minutes) });
  assert.equal(result.created, true, `a new ticket for ${customerRoom}`);
  return result.ticket;
}

/** A promise with its resolve function, for making two pieces of async work meet. */
export function signal(): { readonly promise: Promise<void>; readonly fire: () => void } {
  let fire = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}
