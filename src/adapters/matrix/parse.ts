// Raw Matrix events (JSON from /sync or /messages) → IncomingEvent. Pure and total: anything
// malformed or of no interest yields undefined, nothing throws.
import { createHash } from "node:crypto";
import type { IncomingEvent, InviteEvent, MediaRef, MembershipEvent, MessageBody } from "../../core/events.ts";
import { isMediaMsgtype } from "../../core/events.ts";
import { parseEventId, parseUserId } from "../../core/ids.ts";
import type { EventId, RoomId, UserId } from "../../core/ids.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";

const MEMBERSHIPS: ReadonlySet<string> = new Set<MembershipEvent["membership"]>(["join", "invite", "leave", "ban", "knock"]);

/** A timeline event of `room` as the core sees it, or undefined (malformed, redacted, or not relevant). */
export function parseTimelineEvent(room: RoomId, raw: unknown): IncomingEvent | undefined {
  try {
    return parseEvent(room, raw);
  } catch {
    return undefined;
  }
}

/**
 * The invite of `bot` to `room`, from the room's entry in the sync response's `rooms.invite`
 * (`{invite_state: {events: [...]}}`). Stripped state may lack an event id and a timestamp:
 * then a stable id is derived from the invite and `receivedAt` stands in for the time.
 */
export function parseInvite(room: RoomId, invited: unknown, bot: UserId, receivedAt: Date): InviteEvent | undefined {
  try {
    if (!isObject(invited)) return undefined;
    const member = arrayAt(objectAt(invited, "invite_state"), "events")
      .filter(isObject)
      .find((e) => stringAt(e, "type") === "m.room.member" && stringAt(e, "state_key") === bot
        && stringAt(objectAt(e, "content"), "membership") === "invite");
    if (member === undefined) return undefined;
    const sender = userId(stringAt(member, "sender"));
    if (sender === undefined) return undefined;
    const ts = numberAt(member, "origin_server_ts");
    const at = ts === undefined ? receivedAt : new Date(ts);
    const eventId = eventIdOf(stringAt(member, "event_id"))
      ?? (`$honoroit-invite-${createHash("sha256").update(`${room}\n${sender}\n${at.getTime()}`).digest("hex").slice(0, 32)}` as EventId);
    return {
      type: "invite",
      room,
      eventId,
      sender,
      ts: at,
      isDirect: objectAt(member, "content")?.["is_direct"] === true,
    };
  } catch {
    return undefined;
  }
}

function parseEvent(room: RoomId, raw: unknown): IncomingEvent | undefined {
  if (!isObject(raw)) return undefined;
  // A redacted event has lost its content; its redaction is delivered on its own.
  if (objectAt(raw, "unsigned")?.["redacted_because"] !== undefined) return undefined;
  const eventId = eventIdOf(stringAt(raw, "event_id"));
  const sender = userId(stringAt(raw, "sender"));
  const ts = numberAt(raw, "origin_server_ts");
  const content = objectAt(raw, "content");
  if (eventId === undefined || sender === undefined || ts === undefined || content === undefined) return undefined;
  const base = { room, eventId, sender, ts: new Date(ts) };

  switch (stringAt(raw, "type")) {
    case "m.room.message":
      return parseMessage(base, content);
    case "m.sticker": {
      // A sticker is an image without a msgtype; relay it as one.
      const body = messageBody({ ...content, msgtype: "m.image" });
      return body === undefined ? undefined : { ...base, type: "message", content: body, ...threadAndReply(content) };
    }
    case "m.reaction": {
      const rel = objectAt(content, "m.relates_to");
      const target = eventIdOf(stringAt(rel, "event_id"));
      const key = stringAt(rel, "key");
      if (stringAt(rel, "rel_type") !== "m.annotation" || target === undefined || key === undefined) return undefined;
      return { ...base, type: "reaction", target, key };
    }
    case "m.room.redaction": {
      // Room v11 moved `redacts` into the content; older versions have it at the top level.
      const target = eventIdOf(stringAt(content, "redacts") ?? stringAt(raw, "redacts"));
      if (target === undefined) return undefined;
      const reason = stringAt(content, "reason");
      return { ...base, type: "redaction", target, ...(reason === undefined ? {} : { reason }) };
    }
    case "m.room.member": {
      const user = userId(stringAt(raw, "state_key"));
      const membership = stringAt(content, "membership");
      if (user === undefined || membership === undefined || !MEMBERSHIPS.has(membership)) return undefined;
      const previous = stringAt(objectAt(objectAt(raw, "unsigned"), "prev_content"), "membership")
        ?? stringAt(objectAt(raw, "prev_content"), "membership");
      const displayname = stringAt(content, "displayname");
      return {
        ...base,
        type: "membership",
        user,
        membership: membership as MembershipEvent["membership"],
        ...(previous === undefined ? {} : { previous }),
        ...(displayname === undefined ? {} : { displayname }),
      };
    }
    case "m.room.encrypted":
      return { ...base, type: "undecryptable" };
    default:
      return undefined;
  }
}

type Base = Pick<IncomingEvent, "room" | "eventId" | "sender" | "ts">;

function parseMessage(base: Base, content: JsonObject): IncomingEvent | undefined {
  const rel = objectAt(content, "m.relates_to");
  if (stringAt(rel, "rel_type") === "m.replace") {
    const target = eventIdOf(stringAt(rel, "event_id"));
    const fresh = objectAt(content, "m.new_content");
    if (target === undefined || fresh === undefined) return undefined;
    // Some clients leave msgtype out of m.new_content; the fallback's is the same.
    const body = messageBody(stringAt(fresh, "msgtype") === undefined ? { ...fresh, msgtype: content["msgtype"] } : fresh);
    if (body === undefined) return undefined;
    const threadRoot = threadRootOf(objectAt(fresh, "m.relates_to"));
    return { ...base, type: "edit", target, content: body, ...(threadRoot === undefined ? {} : { threadRoot }) };
  }
  const body = messageBody(content);
  if (body === undefined) return undefined;
  return { ...base, type: "message", content: body, ...threadAndReply(content) };
}

function messageBody(content: JsonObject): MessageBody | undefined {
  const msgtype = stringAt(content, "msgtype");
  const body = stringAt(content, "body");
  if (msgtype === undefined || body === undefined) return undefined;
  const html = stringAt(content, "format") === "org.matrix.custom.html" ? stringAt(content, "formatted_body") : undefined;
  const media = isMediaMsgtype(msgtype) ? mediaOf(content) : undefined;
  return {
    msgtype,
    body,
    ...(html === undefined ? {} : { html }),
    ...(media === undefined ? {} : { media }),
  };
}

// A plain file has `url`; an encrypted one has `file`, its url beside its key, iv and hashes.
function mediaOf(content: JsonObject): MediaRef | undefined {
  const file = objectAt(content, "file");
  const url = file === undefined ? stringAt(content, "url") : stringAt(file, "url");
  if (url?.startsWith("mxc://") !== true) return undefined;
  const filename = stringAt(content, "filename");
  const info = objectAt(content, "info");
  let encryption: JsonObject | undefined;
  if (file !== undefined) {
    const { url: _url, ...keys } = file;
    encryption = keys;
  }
  return {
    url,
    ...(filename === undefined ? {} : { filename }),
    ...(info === undefined ? {} : { info: { ...info } }),
    ...(encryption === undefined ? {} : { encryption }),
  };
}

function threadAndReply(content: JsonObject): { threadRoot?: EventId; replyTo?: EventId } {
  const rel = objectAt(content, "m.relates_to");
  const threadRoot = threadRootOf(rel);
  // With is_falling_back, m.in_reply_to is only there for clients without threads: not a reply.
  const fallback = threadRoot !== undefined && rel?.["is_falling_back"] === true;
  const replyTo = fallback ? undefined : eventIdOf(stringAt(objectAt(rel, "m.in_reply_to"), "event_id"));
  return {
    ...(threadRoot === undefined ? {} : { threadRoot }),
    ...(replyTo === undefined ? {} : { replyTo }),
  };
}

function threadRootOf(rel: JsonObject | undefined): EventId | undefined {
  return stringAt(rel, "rel_type") === "m.thread" ? eventIdOf(stringAt(rel, "event_id")) : undefined;
}

function eventIdOf(value: string | undefined): EventId | undefined {
  if (value === undefined) return undefined;
  try {
    return parseEventId(value);
  } catch {
    return undefined;
  }
}

function userId(value: string | undefined): UserId | undefined {
  if (value === undefined) return undefined;
  try {
    return parseUserId(value);
  } catch {
    return undefined;
  }
}
