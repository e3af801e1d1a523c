// Reads a thread of the operators room, oldest first, for `tickets show`.
import type { EventId, RoomId, UserId } from "../../core/ids.ts";
import type { ThreadMessage } from "../../core/usecases/transcript.ts";
import { Method, path, type MatrixApi } from "./api.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";

const RELATIONS_PREFIX = "/_matrix/client/v1";

/** Decrypts an encrypted event of the room; throws when it cannot. */
export type Decrypt = (room: string, raw: object) => Promise<{ readonly type: string; readonly content: unknown }>;

/** What an encrypted message that cannot be read shows in its place. */
export const UNDECRYPTABLE_TEXT = "(encrypted: the bot's saved keys cannot decrypt it)";

/**
 * The messages in the thread under `root` (the root not included), oldest first, page by page;
 * encrypted ones decrypted with `decrypt`, or shown as UNDECRYPTABLE_TEXT.
 */
export async function readThread(api: MatrixApi, room: RoomId, root: EventId, decrypt?: Decrypt): Promise<ThreadMessage[]> {
  const messages: ThreadMessage[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await api.requestObject(Method.Get, path`/rooms/${room}/relations/${root}/m.thread`, {
      prefix: RELATIONS_PREFIX,
      query: { dir: "f", limit: "100", ...(from === undefined ? {} : { from }) },
      room,
    });
    for (const event of arrayAt(page, "chunk").filter(isObject)) {
      const clear = await clearOf(event, room, decrypt);
      const id = stringAt(event, "event_id");
      const sender = stringAt(event, "sender");
      const body = stringAt(clear.content, "body");
      if (clear.type !== "m.room.message" || id === undefined || sender === undefined || body === undefined) continue;
      messages.push({ eventId: id as EventId, sender: sender as UserId, at: new Date(numberAt(event, "origin_server_ts") ?? 0), msgtype: stringAt(clear.content, "msgtype") ?? "m.text", body });
    }
    from = stringAt(page, "next_batch");
    if (from === undefined) break;
  }
  return messages;
}

/** The event's type and content, decrypted when it is encrypted. */
async function clearOf(event: JsonObject, room: RoomId, decrypt: Decrypt | undefined): Promise<{ type: string | undefined; content: JsonObject | undefined }> {
  const type = stringAt(event, "type");
  if (type !== "m.room.encrypted") return { type, content: objectAt(event, "content") };
  try {
    if (decrypt === undefined) throw new Error("no keys");
    const clear = await decrypt(room, event);
    return { type: clear.type, content: isObject(clear.content) ? clear.content : undefined };
  } catch {
    return { type: "m.room.message", content: { msgtype: "m.notice", body: UNDECRYPTABLE_TEXT } };
  }
}
