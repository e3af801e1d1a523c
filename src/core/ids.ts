import { HonoroitError } from "./errors.ts";

declare const brand: unique symbol;
/** A string that has been checked to be a particular kind of identifier. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A Matrix user id, e.g. `@alice:example.com`. */
export type UserId = Brand<string, "UserId">;
/** A Matrix room id, e.g. `!abc:example.com`. */
export type RoomId = Brand<string, "RoomId">;
/** A Matrix event id, e.g. `$xyz`. */
export type EventId = Brand<string, "EventId">;
/** Our own ticket number (a positive integer, assigned by the store). */
export type TicketId = Brand<number, "TicketId">;

const USER_ID = /^@[^:\s]+:[^\s]+$/;
const ROOM_ID = /^![^\s]+$/;
const EVENT_ID = /^\$[^\s]+$/;

/** Parses a full Matrix user id; throws a usage error naming the bad value. */
export function parseUserId(value: string): UserId {
  const v = value.trim();
  if (!USER_ID.test(v)) throw new HonoroitError("BAD_ARGUMENT", `not a Matrix user id: "${value}" (expected @name:server)`);
  return v as UserId;
}

/** Parses a Matrix room id (`!…`); throws a usage error naming the bad value. */
export function parseRoomId(value: string): RoomId {
  const v = value.trim();
  if (!ROOM_ID.test(v)) throw new HonoroitError("BAD_ARGUMENT", `not a Matrix room id: "${value}" (expected !id:server)`);
  return v as RoomId;
}

/** Parses a Matrix event id (`$…`). */
export function parseEventId(value: string): EventId {
  const v = value.trim();
  if (!EVENT_ID.test(v)) throw new HonoroitError("BAD_ARGUMENT", `not a Matrix event id: "${value}"`);
  return v as EventId;
}

/** Parses a ticket number given by a person (`42` or `#42`). */
export function parseTicketId(value: string | number): TicketId {
  const text = String(value).trim().replace(/^#/, "");
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new HonoroitError("BAD_ARGUMENT", `not a ticket number: "${String(value)}"`);
  }
  return n as TicketId;
}

/** The server part of a user id: `@alice:example.com` → `example.com`. */
export function serverOf(user: UserId): string {
  return user.slice(user.indexOf(":") + 1);
}

/** The localpart of a user id: `@alice:example.com` → `alice`. */
export function localpartOf(user: UserId): string {
  return user.slice(1, user.indexOf(":"));
}
