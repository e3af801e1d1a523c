// Reads a thread of the operators room, oldest first, for `tickets show`.
import type { EventId, RoomId, UserId } from "../../core/ids.ts";
import type { ThreadMessage } from "../../core/usecases/transcript.ts";
import { Method, path, type MatrixApi } from "./api.ts";
import { arrayAt, isObject, numberAt, objectAt, stringAt } from "./json.ts";

const RELATIONS_PREFIX = "/_matrix/client/v1";

/** The messages in the thread under `root` (the root not included), oldest first, page by page. */
export async function readThread(api: MatrixApi, room: RoomId, root: EventId): Promise<ThreadMessage[]> {
  const messages: ThreadMessage[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await api.requestObject(Method.Get, path`/rooms/${room}/relations/${root}/m.thread`, {
      prefix: RELATIONS_PREFIX,
      query: { dir: "f", limit: "100", ...(from === undefined ? {} : { from }) },
      room,
    });
    for (const event of arrayAt(page, "chunk").filter(isObject)) {
      const content = objectAt(event, "content");
      const id = stringAt(event, "event_id");
      const sender = stringAt(event, "sender");
      const body = stringAt(content, "body");
      if (stringAt(event, "type") !== "m.room.message" || id === undefined || sender === undefined || body === undefined) continue;
      messages.push({ eventId: id as EventId, sender: sender as UserId, at: new Date(numberAt(event, "origin_server_ts") ?? 0), msgtype: stringAt(content, "msgtype") ?? "m.text", body });
    }
    from = stringAt(page, "next_batch");
    if (from === undefined) break;
  }
  return messages;
}
