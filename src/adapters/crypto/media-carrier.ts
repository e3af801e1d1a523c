// Files between an encrypted room and a plain one. A file sent in an encrypted room is
// ciphertext on the homeserver, readable with the keys in its event: into another encrypted
// room the file goes as it is (its keys travel inside the encrypted event, to that room's
// members only); into a plain room it is decrypted and uploaded again, as its plain text is.
import type { OutgoingMessage } from "../../core/events.ts";
import { failureCause, HonoroitError, messageOf, RefusedError } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import type { EncryptedRooms } from "./encrypted-rooms.ts";

/** The largest file decrypted for a plain room: it is held in memory on its way. */
export const MAX_CARRIED_BYTES = 100 * 1024 * 1024;

/** The homeserver's media repository, as the carrier uses it (MatrixMediaSource; a fake in tests). */
export interface MediaRepository {
  download(mxc: string, maxBytes: number, encryption?: Readonly<Record<string, unknown>>): Promise<Uint8Array>;
  upload(bytes: Uint8Array, contentType: string, filename: string | undefined): Promise<string>;
}

export class MediaCarrier {
  constructor(
    private readonly rooms: Pick<EncryptedRooms, "isEncrypted">,
    private readonly media: MediaRepository,
    private readonly logger: Logger,
  ) {}

  /**
   * The message as `room` can show it. A file that cannot be decrypted for good (gone from
   * the homeserver, too large, keys that do not fit) leaves its message as text saying so; a
   * homeserver that is down throws, and the message waits.
   */
  async carry(room: string, message: OutgoingMessage): Promise<OutgoingMessage> {
    const media = message.media;
    if (media?.encryption === undefined || (await this.rooms.isEncrypted(room))) return message;
    // An encrypted thumbnail cannot go into a plain room; clients make their own.
    const { thumbnail_file: _thumbnail, ...info } = media.info ?? {};
    const declared = info["size"];
    if (typeof declared === "number" && declared > MAX_CARRIED_BYTES) {
      return this.asText(room, message, `it is larger than the ${MAX_CARRIED_BYTES / 1024 / 1024} MB the bot decrypts`);
    }
    try {
      const bytes = await this.media.download(media.url, MAX_CARRIED_BYTES, media.encryption);
      const mimetype = typeof info["mimetype"] === "string" ? info["mimetype"] : "application/octet-stream";
      const url = await this.media.upload(bytes, mimetype, media.filename ?? message.body);
      return {
        ...message,
        media: { url, ...(media.filename === undefined ? {} : { filename: media.filename }), ...(media.info === undefined ? {} : { info }) },
      };
    } catch (error) {
      // Only a refusal of this file is final here; anything else is retried (or is a bug).
      if (!(error instanceof HonoroitError || error instanceof RefusedError) || failureCause(error) !== "final") throw error;
      return this.asText(room, message, messageOf(error));
    }
  }

  private asText(room: string, message: OutgoingMessage, reason: string): OutgoingMessage {
    this.logger.warn("a file from an encrypted room could not be decrypted for a plain one; its message goes as text", { room, file: message.media?.url, error: reason });
    const { media: _media, html: _html, ...text } = message;
    return { ...text, msgtype: "m.text", body: `${message.body}\n(A file sent encrypted, which could not be passed on here: ${reason})` };
  }
}
