// Reads a room's whole history through a matrix-js-sdk client, as a person scrolling back would.
import { Direction } from "matrix-js-sdk";
import type { MatrixClient } from "matrix-js-sdk";

/** A raw event as the server returns it. */
export interface RawEvent {
  readonly event_id: string;
  readonly type: string;
  readonly sender: string;
  readonly content: Record<string, unknown>;
  readonly redacts?: string;
  readonly unsigned?: Record<string, unknown>;
}

/** Every event of a room, oldest first. */
export async function roomHistory(client: MatrixClient, roomId: string): Promise<RawEvent[]> {
  const events: RawEvent[] = [];
  let from: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await client.createMessagesRequest(roomId, from, 500, Direction.Backward);
    events.push(...(res.chunk as unknown as RawEvent[]));
    if (res.end === undefined || res.end === from || res.chunk.length === 0) break;
    from = res.end;
  }
  return events.reverse();
}

/** The relation of an event (`m.relates_to`), if any. */
export function relation(ev: RawEvent): { rel_type?: string; event_id?: string } {
  const rel: unknown = ev.content["m.relates_to"];
  return typeof rel === "object" && rel !== null ? rel : {};
}

/** Messages posted in the thread under `root` (no edits), oldest first. */
export function threadMessages(history: readonly RawEvent[], root: string): RawEvent[] {
  return history.filter((e) => e.type === "m.room.message" && relation(e).rel_type === "m.thread" && relation(e).event_id === root);
}

/** The body of a message event. */
export function bodyOf(ev: RawEvent | undefined): string {
  const body = ev?.content["body"];
  return typeof body === "string" ? body : "";
}
