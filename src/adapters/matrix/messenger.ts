// The core's Messenger over the client-server API. Idempotency keys become transaction ids,
// which the homeserver de-duplicates per device, so a retry or a replay sends nothing twice.
import { createHash } from "node:crypto";
import type { OutgoingMessage } from "../../core/events.ts";
import { parseEventId, parseRoomId, parseUserId, serverOf } from "../../core/ids.ts";
import type { EventId, RoomId, UserId } from "../../core/ids.ts";
import type { Logger, Messenger, Profile } from "../../core/ports.ts";
import { RefusedError } from "../../core/errors.ts";
import { KeyedLimit } from "../../core/keyed-limit.ts";
import { MatrixRequestError, Method, path } from "./api.ts";
import type { MatrixApi } from "./api.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";
import { renderEdit, renderMessage, renderReaction } from "./render.ts";
import type { EventContent } from "./render.ts";

/** Turns an event into what goes out in `room` (encrypted in an encrypted room). */
export interface OutgoingSeal {
  seal(room: string, type: string, content: EventContent): Promise<{ type: string; content: EventContent }>;
  /** The message with its file as `room` can show it (an encrypted file decrypted for a plain room). */
  carry(room: string, message: OutgoingMessage): Promise<OutgoingMessage>;
}

/** The transaction id for an idempotency key: the same key, the same id, on every run. */
export function transactionId(key: string): string {
  return "ho" + createHash("sha256").update(key).digest("hex").slice(0, 32);
}

/**
 * How many of the bot's events may be on their way into one room at once. Synapse builds each
 * new event on the room's 10 newest forward extremities (the events nothing points to yet), and
 * events created at the same moment all see the same ones: with more sends in flight than that,
 * each wave leaves older extremities behind, and Synapse never joins its own events' forks back
 * (it only prunes other servers'). They pile up for good (about 900 in the operators room after
 * one benchmark run of the bot catching up 32 at a time), and every later event in the room,
 * anyone's, costs the homeserver more. At 10 or fewer at once, the next event joins them all.
 */
export const ROOM_SENDS_AT_ONCE = 10;

/** Sends and changes things in Matrix as the bot (see Messenger). */
export class MatrixMessenger implements Messenger {
  // Serialises read-modify-write of the m.direct account data.
  private directUpdate: Promise<unknown> = Promise.resolve();
  private readonly roomSends = new KeyedLimit(ROOM_SENDS_AT_ONCE);

  constructor(
    private readonly api: MatrixApi,
    readonly botUser: UserId,
    private readonly logger: Logger,
    private readonly encryption?: OutgoingSeal,
  ) {}

  async send(room: RoomId, message: OutgoingMessage, key: string): Promise<EventId> {
    return this.sendEvent(room, "m.room.message", renderMessage(await this.carry(room, message)), key);
  }

  async edit(room: RoomId, target: EventId, message: OutgoingMessage, key: string): Promise<EventId> {
    return this.sendEvent(room, "m.room.message", renderEdit(target, await this.carry(room, message)), key);
  }

  react(room: RoomId, target: EventId, reaction: string, key: string): Promise<EventId> {
    return this.sendEvent(room, "m.reaction", renderReaction(target, reaction), key);
  }

  async redact(room: RoomId, target: EventId, reason: string | undefined, key: string): Promise<void> {
    try {
      await this.roomSends.run(room, () => this.api.request(Method.Put, path`/rooms/${room}/redact/${target}/${transactionId(key)}`, {
        body: reason === undefined ? {} : { reason },
        room,
      }));
    } catch (error) {
      throw await this.explainRefusal(room, error);
    }
  }

  async join(room: RoomId): Promise<void> {
    await this.api.request(Method.Post, path`/rooms/${room}/join`, { body: {}, room });
  }

  async leave(room: RoomId): Promise<void> {
    await this.api.request(Method.Post, path`/rooms/${room}/leave`, { body: {}, room });
  }

  /** Leaving a room one is invited to declines the invite. */
  reject(room: RoomId): Promise<void> {
    return this.leave(room);
  }

  async invite(room: RoomId, user: UserId): Promise<void> {
    await this.api.request(Method.Post, path`/rooms/${room}/invite`, { body: { user_id: user }, room });
  }

  /**
   * Creates a private room marked direct on both sides (`is_direct`, and the bot's `m.direct`).
   * Matrix has no transaction id for room creation, so the key becomes a room alias: creating
   * it again fails with M_ROOM_IN_USE, and the alias then names the room made the first time.
   * The alias is not advertised in the room (an empty canonical alias), so clients still name
   * the room after its members.
   */
  async createDirectRoom(user: UserId, key: string): Promise<RoomId> {
    // Aliases are server-wide: the bot's own id goes into the name, so no other bot's key matches.
    const localpart = `honoroit-${transactionId(`${this.botUser}\n${key}`)}`;
    let room: RoomId;
    try {
      const response = await this.api.requestObject(Method.Post, "/createRoom", {
        body: {
          is_direct: true,
          preset: "trusted_private_chat",
          invite: [user],
          room_alias_name: localpart,
          initial_state: [{ type: "m.room.canonical_alias", state_key: "", content: {} }],
        },
      });
      room = parseRoomId(stringAt(response, "room_id") ?? "");
    } catch (error) {
      if (!(error instanceof MatrixRequestError && error.errcode === "M_ROOM_IN_USE")) throw error;
      const alias = `#${localpart}:${serverOf(this.botUser)}`;
      const found = await this.api.requestObject(Method.Get, path`/directory/room/${alias}`);
      room = parseRoomId(stringAt(found, "room_id") ?? "");
      // Only a room the bot made itself is the one it was asked to make.
      if (!(await this.members(room)).includes(this.botUser)) {
        throw new RefusedError(`the room alias ${alias} names a room the bot is not in`, { errcode: "M_ROOM_IN_USE", status: 400, room });
      }
      this.logger.info("found the room created for this request before a restart", { room, user });
    }
    // The room exists and the user is invited: a failure to label it in m.direct is not worth
    // failing the call for.
    const update = this.directUpdate.then(() => this.addDirectRoom(user, room)).catch((error: unknown) => {
      this.logger.warn("could not add the new room to the bot's m.direct", { room, user, error: error instanceof Error ? error.message : String(error) });
    });
    this.directUpdate = update;
    await update;
    return room;
  }

  /** The user's profile; {} when the server has none (or will not say). */
  async profile(user: UserId): Promise<Profile> {
    let response;
    try {
      response = await this.api.requestObject(Method.Get, path`/profile/${user}`);
    } catch (error) {
      if (error instanceof MatrixRequestError && (error.status === 404 || error.status === 403)) return {};
      throw error;
    }
    const displayname = stringAt(response, "displayname");
    const avatarUrl = stringAt(response, "avatar_url");
    return {
      ...(displayname === undefined ? {} : { displayname }),
      ...(avatarUrl === undefined ? {} : { avatarUrl }),
    };
  }

  async powerLevel(room: RoomId, user: UserId): Promise<number> {
    let levels: JsonObject | undefined;
    try {
      levels = await this.api.requestObject(Method.Get, path`/rooms/${room}/state/m.room.power_levels/`, { room });
    } catch (error) {
      // No power levels event: the spec's defaults (the creator has 100; we cannot tell who
      // that is here, so nobody counts as privileged).
      if (error instanceof MatrixRequestError && error.status === 404) return 0;
      throw error;
    }
    const users = objectAt(levels, "users");
    return numberAt(users, user) ?? numberAt(levels, "users_default") ?? 0;
  }

  async members(room: RoomId, includeInvited = false): Promise<UserId[]> {
    const joined = objectAt(await this.api.requestObject(Method.Get, path`/rooms/${room}/joined_members`, { room }), "joined");
    const users = new Set(Object.keys(joined ?? {}));
    if (includeInvited) {
      const response = await this.api.requestObject(Method.Get, path`/rooms/${room}/members`, { query: { membership: "invite" } });
      for (const event of arrayAt(response, "chunk")) {
        if (!isObject(event) || stringAt(objectAt(event, "content"), "membership") !== "invite") continue;
        const user = stringAt(event, "state_key");
        if (user !== undefined) users.add(user);
      }
    }
    const result: UserId[] = [];
    for (const user of users) {
      try {
        result.push(parseUserId(user));
      } catch {
        // not a user id: the server's data, not ours to fix
      }
    }
    return result;
  }

  private async carry(room: RoomId, message: OutgoingMessage): Promise<OutgoingMessage> {
    if (this.encryption === undefined || message.media === undefined) return message;
    try {
      return await this.encryption.carry(room, message);
    } catch (error) {
      throw await this.explainRefusal(room, error);
    }
  }

  private async sendEvent(room: RoomId, type: string, content: EventContent, key: string): Promise<EventId> {
    try {
      // Re-encrypted on a retry, the same transaction id still makes it one event.
      const out = this.encryption === undefined ? { type, content } : await this.encryption.seal(room, type, content);
      const response = await this.roomSends.run(room, () => this.api.requestObject(Method.Put, path`/rooms/${room}/send/${out.type}/${transactionId(key)}`, { body: out.content, room }));
      return parseEventId(stringAt(response, "event_id") ?? "");
    } catch (error) {
      throw await this.explainRefusal(room, error);
    }
  }

  /**
   * A refusal to post says why only in words. Whether the bot is in the room decides what it
   * means (our state, or the event's fault), so on a refusal the bot's membership is looked up.
   */
  private async explainRefusal(room: RoomId, error: unknown): Promise<unknown> {
    if (!(error instanceof MatrixRequestError) || !error.forbidden || error.notInRoom) return error;
    let membership: string | undefined;
    try {
      const member = await this.api.requestObject(Method.Get, path`/rooms/${room}/state/m.room.member/${this.botUser}`, { room, maxAttempts: 3 });
      membership = stringAt(member, "membership");
    } catch (lookup) {
      // Not allowed to look, or no membership at all: not in the room. Anything else: unknown.
      if (!(lookup instanceof MatrixRequestError)) return error;
    }
    if (membership === "join") return error;
    return new MatrixRequestError(error.message, error.errcode, error.status, { cause: error, room, notInRoom: true });
  }

  private async addDirectRoom(user: UserId, room: RoomId): Promise<void> {
    const url = path`/user/${this.botUser}/account_data/m.direct`;
    let direct: Record<string, unknown> = {};
    try {
      direct = { ...(await this.api.requestObject(Method.Get, url)) };
    } catch (error) {
      if (!(error instanceof MatrixRequestError && error.status === 404)) throw error;
    }
    const rooms = arrayAt(direct, user).filter((r): r is string => typeof r === "string");
    if (rooms.includes(room)) return;
    direct[user] = [...rooms, room];
    await this.api.request(Method.Put, url, { body: direct });
  }
}
