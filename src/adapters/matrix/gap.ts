// A gap in a room's timeline (the homeserver sent only the newest events of a busy room),
// read forwards page by page so that no more than one page is ever held in memory.
import type { RoomId, UserId } from "../../core/ids.ts";
import { Method, path } from "./api.ts";
import type { MatrixApi } from "./api.ts";
import { arrayAt, isObject, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";

/** Where a gap lies: after the batch's `since`, up to the timeline's `prev_batch`. */
export interface Gap {
  readonly room: RoomId;
  readonly from: string;
  /** The timeline's prev_batch; absent when the homeserver gave none. */
  readonly to: string | undefined;
  /** Without `to`: the gap ends before this event (the first one of the timeline). */
  readonly stopAt: string | undefined;
  /** The bot is no longer in the room (it left or was removed in this batch). */
  readonly left: boolean;
}

/** Reads a gap forwards, one page per call; events of no interest to anyone are left out. */
export class GapReader {
  private cursor: string;
  private exhausted = false;
  /** Events of the last page not yet handed over, oldest first. */
  readonly buffer: JsonObject[] = [];
  /** Pages read so far. */
  pages = 0;
  /** Events read so far. */
  events = 0;

  constructor(
    private readonly api: MatrixApi,
    readonly gap: Gap,
    private readonly botUser: UserId,
    private readonly pageSize: number,
  ) {
    this.cursor = gap.from;
  }

  /** Every event of the gap was read (the buffer may still hold some). */
  get finished(): boolean {
    return this.exhausted;
  }

  /** Reads the next page into the buffer; throws what the request threw. */
  async readPage(signal?: AbortSignal): Promise<void> {
    const { room, to, stopAt } = this.gap;
    const response = await this.api.requestObject(Method.Get, path`/rooms/${room}/messages`, {
      query: {
        dir: "f",
        from: this.cursor,
        to,
        limit: String(this.pageSize),
        // The bot's own events are most of a busy operators room, and of no use to it.
        filter: JSON.stringify({ lazy_load_members: true, not_senders: [this.botUser] }),
      },
      room,
      ...(signal === undefined ? {} : { signal }),
    });
    this.pages += 1;
    let chunk = arrayAt(response, "chunk").filter(isObject);
    const stop = stopAt === undefined ? -1 : chunk.findIndex((e) => stringAt(e, "event_id") === stopAt);
    if (stop >= 0) chunk = chunk.slice(0, stop);
    this.buffer.push(...chunk);
    this.events += chunk.length;
    const end = stringAt(response, "end");
    // No `end`: nothing after this page. An `end` equal to where we started: no progress.
    if (stop >= 0 || end === undefined || end === this.cursor) this.exhausted = true;
    else this.cursor = end;
  }
}
