// What the bot sends into an encrypted room is encrypted first, one event at a time per room
// (sharing the room key and encrypting must not interleave within a room).
import type { OutgoingMessage } from "../../core/events.ts";
import { KeyedQueue } from "../../core/keyed-queue.ts";
import type { OutgoingSeal } from "../matrix/messenger.ts";
import type { EventContent } from "../matrix/render.ts";
import type { EncryptedRooms } from "./encrypted-rooms.ts";
import type { MediaCarrier } from "./media-carrier.ts";
import type { OlmEngine } from "./olm-engine.ts";

/** An event as it goes out: encrypted in an encrypted room, as it is elsewhere. */
export class RoomEncryptor implements OutgoingSeal {
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly engine: OlmEngine,
    private readonly rooms: EncryptedRooms,
    private readonly media: MediaCarrier,
  ) {}

  carry(room: string, message: OutgoingMessage): Promise<OutgoingMessage> {
    return this.media.carry(room, message);
  }

  async seal(room: string, type: string, content: EventContent): Promise<{ type: string; content: EventContent }> {
    if (!(await this.rooms.isEncrypted(room))) return { type, content };
    return this.queue.run(room, async () => {
      const members = await this.rooms.membersOf(room);
      const encrypted = await this.engine.encrypt(room, members, type, content);
      return { type: "m.room.encrypted", content: encrypted as EventContent };
    });
  }
}
