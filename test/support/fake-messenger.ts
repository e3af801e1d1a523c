import { HonoroitError, RefusedError } from "../../src/core/errors.ts";
import type { OutgoingMessage } from "../../src/core/events.ts";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import type { Messenger, Profile } from "../../src/core/ports.ts";

/** What the fake recorded: one entry per call that changed something in "Matrix". */
export type Sent =
  | { readonly op: "send"; readonly room: RoomId; readonly message: OutgoingMessage; readonly key: string; readonly id: EventId }
  | { readonly op: "edit"; readonly room: RoomId; readonly target: EventId; readonly message: OutgoingMessage; readonly key: string; readonly id: EventId }
  | { readonly op: "react"; readonly room: RoomId; readonly target: EventId; readonly reaction: string; readonly key: string; readonly id: EventId }
  | { readonly op: "redact"; readonly room: RoomId; readonly target: EventId; readonly key: string }
  | { readonly op: "join" | "leave" | "reject"; readonly room: RoomId }
  | { readonly op: "invite"; readonly room: RoomId; readonly user: UserId };

/** An in-memory Messenger: records every call; the same key returns the same event (like a txn id). */
export class FakeMessenger implements Messenger {
  readonly calls: Sent[] = [];
  readonly profiles = new Map<UserId, Profile>();
  readonly roomMembers = new Map<RoomId, UserId[]>();
  private readonly byKey = new Map<string, EventId>();
  private counter = 0;
  /** Make the next N sends fail (network trouble). */
  failNextSends = 0;
  /** Errors the next sends to a room (any room when none is named) throw, in order, instead of sending. */
  readonly sendFailures: { readonly room?: RoomId; readonly error: Error }[] = [];
  /** Errors the next room creations throw, in order, after the room was created (a lost answer). */
  readonly createFailures: Error[] = [];
  /** Rooms the bot is not in (it left, was kicked, never joined): sends there are refused. */
  readonly refusedRooms = new Set<RoomId>();

  constructor(readonly botUser: UserId) {}

  private idFor(key: string): { id: EventId; fresh: boolean } {
    const known = this.byKey.get(key);
    if (known !== undefined) return { id: known, fresh: false };
    const id = `$fake${++this.counter}` as EventId;
    this.byKey.set(key, id);
    return { id, fresh: true };
  }

  send(room: RoomId, message: OutgoingMessage, key: string): Promise<EventId> {
    const failure = this.sendFailures.findIndex((f) => f.room === undefined || f.room === room);
    const [planned] = failure >= 0 ? this.sendFailures.splice(failure, 1) : [];
    if (planned !== undefined) return Promise.reject(planned.error);
    if (this.failNextSends > 0) {
      this.failNextSends--;
      // What the Matrix adapter throws once its retries are used up.
      return Promise.reject(new HonoroitError("UNREACHABLE", "network down"));
    }
    if (this.refusedRooms.has(room)) return Promise.reject(forbidden(room));
    const { id, fresh } = this.idFor(key);
    if (fresh) this.calls.push({ op: "send", room, message, key, id });
    return Promise.resolve(id);
  }

  edit(room: RoomId, target: EventId, message: OutgoingMessage, key: string): Promise<EventId> {
    const { id, fresh } = this.idFor(key);
    if (fresh) this.calls.push({ op: "edit", room, target, message, key, id });
    return Promise.resolve(id);
  }

  react(room: RoomId, target: EventId, reaction: string, key: string): Promise<EventId> {
    if (this.refusedRooms.has(room)) return Promise.reject(forbidden(room));
    const { id, fresh } = this.idFor(key);
    if (fresh) this.calls.push({ op: "react", room, target, reaction, key, id });
    return Promise.resolve(id);
  }

  redact(room: RoomId, target: EventId, _reason: string | undefined, key: string): Promise<void> {
    const { fresh } = this.idFor(key);
    if (fresh) this.calls.push({ op: "redact", room, target, key });
    return Promise.resolve();
  }

  join(room: RoomId): Promise<void> {
    this.calls.push({ op: "join", room });
    this.refusedRooms.delete(room);
    return Promise.resolve();
  }
  leave(room: RoomId): Promise<void> {
    if (this.refusedRooms.has(room)) return Promise.reject(forbidden(room));
    this.calls.push({ op: "leave", room });
    this.refusedRooms.add(room);
    return Promise.resolve();
  }
  reject(room: RoomId): Promise<void> {
    this.calls.push({ op: "reject", room });
    return Promise.resolve();
  }
  invite(room: RoomId, user: UserId): Promise<void> {
    this.calls.push({ op: "invite", room, user });
    return Promise.resolve();
  }
  /** Rooms created, by key: like the Matrix adapter, the same key gives the same room. */
  readonly createdRooms = new Map<string, RoomId>();
  createDirectRoom(user: UserId, key: string): Promise<RoomId> {
    const known = this.createdRooms.get(key);
    if (known !== undefined) return Promise.resolve(known);
    const room = `!dm-${user.slice(1).replace(":", "-")}-${++this.counter}:fake` as RoomId;
    this.createdRooms.set(key, room);
    this.roomMembers.set(room, [this.botUser]);
    const failure = this.createFailures.shift();
    return failure === undefined ? Promise.resolve(room) : Promise.reject(failure);
  }
  profile(user: UserId): Promise<Profile> {
    return Promise.resolve(this.profiles.get(user) ?? {});
  }
  /** Power levels by room and user; anyone not listed has 0. */
  readonly powerLevels = new Map<string, number>();
  powerLevel(room: RoomId, user: UserId): Promise<number> {
    return Promise.resolve(this.powerLevels.get(`${room} ${user}`) ?? 0);
  }
  members(room: RoomId): Promise<UserId[]> {
    return Promise.resolve(this.roomMembers.get(room) ?? []);
  }

  /** Messages sent to a room, in order. */
  sentTo(room: RoomId): OutgoingMessage[] {
    return this.calls.flatMap((c) => (c.op === "send" && c.room === room ? [c.message] : []));
  }
}

/** What the Matrix adapter throws when the bot is not in the room. */
function forbidden(room: RoomId): RefusedError {
  return new RefusedError("M_FORBIDDEN: you are not in this room", { errcode: "M_FORBIDDEN", status: 403, room, notInRoom: true });
}
