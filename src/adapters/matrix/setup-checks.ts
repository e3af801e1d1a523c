// What `honoroit init` checks against the real homeserver before it writes anything: that the
// URL answers as a Matrix homeserver (a bare domain through .well-known), that the bot can log
// in, and that it can post in the operators room (joining it, or creating it).
import { HonoroitError } from "../../core/errors.ts";
import type { RoomId, UserId } from "../../core/ids.ts";
import type { KeyValueStore, Logger } from "../../core/ports.ts";
import { MatrixApi, MatrixRequestError, Method, path } from "./api.ts";
import { arrayAt, isObject, objectAt, stringAt } from "./json.ts";
import { loginOnce, MATRIX_NAMESPACE, type MatrixSession } from "./login.ts";

const CHECK_TIMEOUT_MS = 10_000;

async function getJson(url: string): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS), redirect: "follow" });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  } catch {
    return undefined;
  }
}

/** A homeserver that answered `/_matrix/client/versions`. */
export interface FoundHomeserver {
  readonly url: string;
  readonly versions: readonly string[];
  /** Found through `/.well-known/matrix/client` of what was typed. */
  readonly viaWellKnown: boolean;
}

async function versionsAt(base: string): Promise<readonly string[] | undefined> {
  const res = await getJson(`${base}/_matrix/client/versions`);
  if (res === undefined || res.status !== 200 || !isObject(res.body)) return undefined;
  const versions = arrayAt(res.body, "versions").filter((v): v is string => typeof v === "string");
  return versions.length > 0 ? versions : undefined;
}

/**
 * The homeserver behind what a person typed: a URL that answers as one, or a domain (or URL)
 * whose `.well-known/matrix/client` names one. Throws with the reason otherwise.
 */
export async function findHomeserver(typed: string): Promise<FoundHomeserver> {
  const trimmed = typed.trim().replace(/\/+$/, "");
  const base = /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new HonoroitError("BAD_ARGUMENT", `"${typed}" is not a URL or a domain`);
  }
  const direct = await versionsAt(base);
  if (direct !== undefined) return { url: base, versions: direct, viaWellKnown: false };
  const wellKnown = await getJson(`${parsed.origin}/.well-known/matrix/client`);
  const named = isObject(wellKnown?.body) ? stringAt(objectAt(wellKnown.body, "m.homeserver"), "base_url") : undefined;
  if (named !== undefined) {
    const url = named.replace(/\/+$/, "");
    const versions = await versionsAt(url);
    if (versions !== undefined) return { url, versions, viaWellKnown: true };
    throw new HonoroitError("UNREACHABLE", `${parsed.origin}/.well-known/matrix/client names ${url}, which does not answer /_matrix/client/versions`);
  }
  const reached = await getJson(base);
  throw new HonoroitError(
    "UNREACHABLE",
    reached === undefined
      ? `nothing answers at ${base} (check the address, and that this machine can reach it)`
      : `${base} answers, but not as a Matrix homeserver: /_matrix/client/versions gave no versions, and ${parsed.origin}/.well-known/matrix/client names none`,
  );
}

/** A key-value area in memory: the session logged in during `init`, copied into the database once it exists. */
export class MemoryKeyValues implements KeyValueStore {
  readonly entries = new Map<string, Map<string, string>>();
  get(namespace: string, key: string): Promise<string | undefined> {
    return Promise.resolve(this.entries.get(namespace)?.get(key));
  }
  set(namespace: string, key: string, value: string): Promise<void> {
    const area = this.entries.get(namespace) ?? new Map<string, string>();
    area.set(key, value);
    this.entries.set(namespace, area);
    return Promise.resolve();
  }
  delete(namespace: string, key: string): Promise<void> {
    this.entries.get(namespace)?.delete(key);
    return Promise.resolve();
  }
  list(namespace: string): Promise<ReadonlyMap<string, string>> {
    return Promise.resolve(new Map(this.entries.get(namespace)));
  }
}

export interface CheckedLogin {
  readonly session: MatrixSession;
  /** The session as serve keeps it (namespace `matrix`): copied into the database, serve goes on with this device. */
  readonly kv: MemoryKeyValues;
}

/** Logs the bot in once; refused credentials throw BAD_CONFIG with the server's reason. */
export async function checkLogin(options: {
  homeserver: string;
  login: string;
  password?: string;
  sharedSecret?: string;
  token?: string;
  dataSecret?: string;
  logger: Logger;
}): Promise<CheckedLogin> {
  const kv = new MemoryKeyValues();
  const session = await loginOnce({ ...options, kv });
  return { session, kv };
}

/** Copies the session `init` logged in with into the database's key-value area. */
export async function keepSession(from: MemoryKeyValues, to: KeyValueStore): Promise<void> {
  for (const [key, value] of await from.list(MATRIX_NAMESPACE)) await to.set(MATRIX_NAMESPACE, key, value);
}

function apiFor(session: MatrixSession, logger: Logger): MatrixApi {
  return MatrixApi.create(session.homeserver, session.accessToken, { logger, maxAttempts: 2 });
}

/** Joins the room (an id or an alias; a pending invite is taken), or says why the bot cannot. */
export async function joinOperatorsRoom(session: MatrixSession, roomOrAlias: string, logger: Logger): Promise<RoomId> {
  const api = apiFor(session, logger);
  const target = roomOrAlias.trim();
  if (!/^[!#][^:]+:.+$/.test(target)) throw new HonoroitError("BAD_ARGUMENT", `"${target}" is not a room ID (!abc:example.com) or an alias (#support:example.com)`);
  try {
    const joined = await api.requestObject(Method.Post, path`/join/${target}`, { body: {} });
    const roomId = stringAt(joined, "room_id");
    if (roomId === undefined) throw new Error("the homeserver's join answer has no room_id");
    return roomId as RoomId;
  } catch (error) {
    if (!(error instanceof MatrixRequestError)) throw error;
    const reason = error.status === 404 ? `${target} does not exist (or ${session.userId} cannot see it)` : `${session.userId} cannot join ${target}: invite it there first (${error.message})`;
    throw new HonoroitError("BAD_ARGUMENT", reason, { cause: error });
  }
}

/** Creates a private operators room, inviting the operators and giving them the room (power 100). */
export async function createOperatorsRoom(session: MatrixSession, operators: readonly UserId[], logger: Logger): Promise<RoomId> {
  const api = apiFor(session, logger);
  for (const user of operators) {
    try {
      await api.requestObject(Method.Get, path`/profile/${user}`);
    } catch (error) {
      if (error instanceof MatrixRequestError && error.status === 404) throw new HonoroitError("BAD_ARGUMENT", `there is no user ${user}`);
      if (!(error instanceof MatrixRequestError)) throw error;
    }
  }
  const users: Record<string, number> = { [session.userId]: 100 };
  for (const user of operators) users[user] = 100;
  const created = await api.requestObject(Method.Post, "/createRoom", {
    body: { preset: "private_chat", name: "Support requests", topic: "Customer requests, one thread each (honoroit)", invite: [...operators], power_level_content_override: { users } },
  });
  const roomId = stringAt(created, "room_id");
  if (roomId === undefined) throw new Error("the homeserver's createRoom answer has no room_id");
  return roomId as RoomId;
}
