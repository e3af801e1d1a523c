// Reads what the Go bot left in Matrix: its global account data (one /sync, unsealed with the
// data secret) and the thread roots it posted in the operators room (its history, read once).
import { randomUUID } from "node:crypto";
import { HonoroitError } from "../../core/errors.ts";
import type { EventId, RoomId, UserId } from "../../core/ids.ts";
import { serverOf } from "../../core/ids.ts";
import type { GoAccountData, GoForwarded, GoOperatorsRoom, GoThreadRoot, Skipped } from "../../core/usecases/import-go.ts";
import { Method, path, type MatrixApi } from "../matrix/api.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt, type JsonObject } from "../matrix/json.ts";
import type { GoSealedText } from "./sealed-text.ts";

const PREFIX = "cc.etke.honoroit.";
const MAPPING = `${PREFIX}mapping.`;
const REDMINE = `${PREFIX}redmine.`;
const REDMINE_NOTE = `${PREFIX}redmine.note.`;
const CONFIG = `${PREFIX}config`;

/**
 * Only the Go bot's account data; no room's timeline, state or presence. Synapse answers an
 * initial /sync with the same filter from a cache for a while, so a run soon after another (a
 * dry run, then the import) would read stale data: each run's filter names a room of its own.
 */
function accountDataFilter(): JsonObject {
  return {
    account_data: { types: [`${PREFIX}*`] },
    presence: { types: [] },
    room: { not_rooms: [`!honoroit-import-${randomUUID()}:invalid`], timeline: { types: [] }, state: { types: [] }, ephemeral: { types: [] }, account_data: { types: [] } },
  };
}

export interface GoAccountRead {
  readonly account: GoAccountData;
  /** Where this /sync left off: from here on, serve misses nothing. */
  readonly nextBatch: string;
  /** Rooms the bot is invited to and has not joined. */
  readonly pendingInvites: number;
  /** Account-data entries of the Go bot found. */
  readonly entries: number;
}

/**
 * Reads and unseals the Go bot's account data. A secret that opens none of the sealed values,
 * or sealed values with no secret, stop with BAD_DATA before anything is written; so do values
 * no secret opens while others open (corrupt), unless `skipUnreadable`.
 */
export async function readGoAccountData(api: MatrixApi, sealed: GoSealedText, skipUnreadable: boolean): Promise<GoAccountRead> {
  const response = await api.requestObject(Method.Get, "/sync", { query: { filter: JSON.stringify(accountDataFilter()), timeout: "0" }, timeoutMs: 300_000 });
  const nextBatch = stringAt(response, "next_batch");
  if (nextBatch === undefined) throw new Error("the homeserver's /sync answer has no next_batch");
  const events = arrayAt(objectAt(response, "account_data"), "events").filter(isObject);
  const unsealer = new Unsealer(sealed);
  const openThreads = new Map<EventId, RoomId>();
  const issues = new Map<EventId, number>();
  const notes = new Map<EventId, number[]>();
  const options = new Map<string, string>();
  const skipped: Skipped[] = [];
  let entries = 0;
  for (const event of events) {
    const type = stringAt(event, "type");
    const content = objectAt(event, "content");
    if (type === undefined || !type.startsWith(PREFIX) || content === undefined) continue;
    entries++;
    const map = unsealer.content(type, content);
    if (map === undefined) continue;
    if (type === CONFIG) {
      for (const [key, value] of map) options.set(key, value);
    } else if (type.startsWith(REDMINE_NOTE)) {
      const rest = type.slice(REDMINE_NOTE.length);
      const cut = rest.lastIndexOf("_");
      const root = rest.slice(0, cut);
      const note = Number(rest.slice(cut + 1));
      if (cut <= 0 || !root.startsWith("$") || !Number.isSafeInteger(note)) skipped.push({ what: type, reason: "not a thread root and note number" });
      else if ((map.get("synced") ?? "") !== "") notes.set(root as EventId, [...(notes.get(root as EventId) ?? []), note]);
    } else if (type.startsWith(REDMINE)) {
      // Only thread → issue is read; issue → thread and room → issue are its mirror images.
      const root = type.slice(REDMINE.length);
      const issue = Number(map.get("id"));
      if (root.startsWith("$") && Number.isSafeInteger(issue) && issue > 0) issues.set(root as EventId, issue);
    } else if (type.startsWith(MAPPING)) {
      // Both directions are written; thread → room is the one that says a request is open.
      const root = type.slice(MAPPING.length);
      const room = map.get("id");
      if (root.startsWith("$") && room !== undefined && room.startsWith("!")) openThreads.set(root as EventId, room as RoomId);
    } else {
      skipped.push({ what: type, reason: "not a kind of Go bot data this version knows" });
    }
  }
  unsealer.verdict(skipUnreadable, skipped);
  const invites = objectAt(objectAt(response, "rooms"), "invite");
  return {
    account: { openThreads, issues, notes, options, skipped },
    nextBatch,
    pendingInvites: invites === undefined ? 0 : Object.keys(invites).length,
    entries,
  };
}

/** Unseals contents, keeping count of what opened and what did not. */
class Unsealer {
  #opened = 0;
  readonly #unreadable: { type: string; reason: string }[] = [];

  constructor(private readonly sealed: GoSealedText) {}

  /** The content as a plain map, or undefined when part of it does not open. */
  content(type: string, content: JsonObject): Map<string, string> | undefined {
    const map = new Map<string, string>();
    for (const [rawKey, rawValue] of Object.entries(content)) {
      if (typeof rawValue !== "string") {
        this.#unreadable.push({ type, reason: `the value of ${JSON.stringify(rawKey)} is not a string` });
        return undefined;
      }
      const key = this.#open(type, rawKey);
      const value = this.#open(type, rawValue);
      if (key === undefined || value === undefined) return undefined;
      map.set(key, value);
    }
    return map;
  }

  #open(type: string, text: string): string | undefined {
    const opened = this.sealed.open(text);
    if (opened.kind === "sealed") this.#opened++;
    if (opened.kind === "sealed" || opened.kind === "plain") return opened.text;
    this.#unreadable.push({ type, reason: opened.kind === "unreadable" ? opened.reason : "the data secret does not open it" });
    return undefined;
  }

  /** Throws when nothing sealed opened (a wrong or missing secret) or, unless allowed, when some did not. */
  verdict(skipUnreadable: boolean, skipped: Skipped[]): void {
    const bad = this.#unreadable;
    if (bad.length === 0) return;
    const examples = bad.slice(0, 5).map((b) => `${b.type}: ${b.reason}`);
    if (!this.sealed.hasSecret) {
      throw new HonoroitError(
        "BAD_DATA",
        `the Go bot's account data is sealed (${bad.length} entries) and no data secret is configured: set HONOROIT_DATA_SECRET to the secret the Go bot ran with; nothing was imported`,
        { details: examples },
      );
    }
    if (this.#opened === 0) {
      throw new HonoroitError(
        "BAD_DATA",
        `the data secret does not open the Go bot's account data (${bad.length} sealed entries, none opens): set HONOROIT_DATA_SECRET to the secret the Go bot ran with; nothing was imported`,
        { details: examples },
      );
    }
    if (!skipUnreadable) {
      throw new HonoroitError(
        "BAD_DATA",
        `${bad.length} of the Go bot's account-data entries cannot be read (corrupt?) while the others open with this secret; nothing was imported. Import the rest with --skip-unreadable`,
        { details: examples },
      );
    }
    for (const b of bad) skipped.push({ what: b.type, reason: `unreadable: ${b.reason}` });
  }
}

/** Reads the operators room's whole history once and returns the Go bot's thread roots. */
export async function scanOperatorsRoom(
  api: MatrixApi,
  room: RoomId,
  bot: UserId,
  donePrefix: string,
  onProgress: (events: number) => void = () => undefined,
): Promise<GoOperatorsRoom> {
  const roots = new Map<string, { event: JsonObject; customer: UserId; homeserver: string }>();
  const edits = new Map<string, { ts: number; body: string }[]>();
  const activity = new Map<string, number>();
  const forwarded = new Map<string, GoForwarded[]>();
  let unreadable = 0;
  let events = 0;
  let from: string | undefined;
  for (;;) {
    const page = await api.requestObject(Method.Get, path`/rooms/${room}/messages`, {
      query: { dir: "b", limit: "1000", ...(from === undefined ? {} : { from }) },
      room,
    });
    const chunk = arrayAt(page, "chunk").filter(isObject);
    for (const event of chunk) {
      events++;
      const type = stringAt(event, "type");
      if (type === "m.room.encrypted") unreadable++;
      if (type !== "m.room.message") continue;
      const id = stringAt(event, "event_id");
      const ts = numberAt(event, "origin_server_ts") ?? 0;
      const content = objectAt(event, "content");
      const relation = objectAt(content, "m.relates_to");
      const relType = stringAt(relation, "rel_type");
      const target = stringAt(relation, "event_id");
      const fromBot = stringAt(event, "sender") === bot;
      if (id === undefined) continue;
      if (relType === "m.replace" && target !== undefined) {
        const body = stringAt(objectAt(content, "m.new_content"), "body");
        if (fromBot && body !== undefined) edits.set(target, [...(edits.get(target) ?? []), { ts, body }]);
        continue;
      }
      if (relType === "m.thread" && target !== undefined) {
        activity.set(target, Math.max(activity.get(target) ?? 0, ts));
        const source = stringAt(content, "event_id");
        const sender = fromBot && content !== undefined && source?.startsWith("$") === true ? forwardedSender(content) : undefined;
        if (source !== undefined && sender !== undefined) {
          forwarded.set(target, [...(forwarded.get(target) ?? []), { threadEvent: id as EventId, sourceEvent: source as EventId, sender }]);
        }
        continue;
      }
      const customer = stringAt(content, "customer");
      if (fromBot && relation === undefined && customer !== undefined && /^@[^:]+:.+$/.test(customer)) {
        roots.set(id, { event, customer: customer as UserId, homeserver: stringAt(content, "homeserver") ?? serverOf(customer as UserId) });
      }
    }
    onProgress(events);
    const end = stringAt(page, "end");
    if (end === undefined || chunk.length === 0) break;
    from = end;
  }
  const result: GoThreadRoot[] = [];
  for (const [id, root] of roots) {
    const openedAt = numberAt(root.event, "origin_server_ts") ?? 0;
    const firstTitle = stringAt(objectAt(root.event, "content"), "body") ?? "";
    const rootEdits = (edits.get(id) ?? []).sort((a, b) => a.ts - b.ts);
    const closing = rootEdits.find((e) => e.body.startsWith(donePrefix));
    result.push({
      eventId: id as EventId,
      customer: root.customer,
      homeserver: root.homeserver,
      title: rootEdits.at(-1)?.body ?? firstTitle,
      firstTitle,
      edited: rootEdits.length > 0,
      openedAt: new Date(openedAt),
      lastActivityAt: new Date(Math.max(openedAt, activity.get(id) ?? 0, rootEdits.at(-1)?.ts ?? 0)),
      closedAt: closing === undefined ? null : new Date(closing.ts),
      forwarded: (forwarded.get(id) ?? []).reverse(),
    });
  }
  return { roots: result, unreadable, events };
}

/** Who wrote a message the Go bot copied into a thread: its body starts with a link to them. */
function forwardedSender(content: JsonObject): UserId | undefined {
  const profile = stringAt(objectAt(content, "com.beeper.per_message_profile"), "id");
  if (profile !== undefined && /^@[^:]+:.+$/.test(profile)) return profile as UserId;
  const html = stringAt(content, "formatted_body") ?? "";
  const link = /^<a href="https:\/\/matrix\.to\/#\/(@[^"]+)">/.exec(html)?.[1];
  if (link === undefined) return undefined;
  const user = decodeURIComponent(link);
  return /^@[^:]+:.+$/.test(user) ? (user as UserId) : undefined;
}

/** The customer of a request room: its first member other than the bot. */
export async function customerOfRoom(api: MatrixApi, room: RoomId, bot: UserId): Promise<UserId | undefined> {
  const response = await api.requestObject(Method.Get, path`/rooms/${room}/joined_members`, { room });
  return Object.keys(objectAt(response, "joined") ?? {}).find((user) => user !== bot) as UserId | undefined;
}
