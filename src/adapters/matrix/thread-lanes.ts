// Which lane an event of the operators room takes in the sync pipeline: its thread. Threads are
// handled side by side (one request's close does not hold up another's replies), each in order.
import { objectAt, stringAt } from "./json.ts";
import type { JsonObject } from "./json.ts";

/** Events whose lane is remembered, for relations to them (edits, reactions, redactions). */
const REMEMBERED = 10_000;

export class ThreadLanes {
  /** Recent events and their thread, oldest first. */
  private readonly lanes = new Map<string, string>();

  constructor(private readonly remembered = REMEMBERED) {}

  /**
   * The event's thread; for a relation, the thread of the event it relates to when that is
   * known. Else none: the event then keeps its place among all of the room's events.
   */
  laneOf(raw: JsonObject): string | undefined {
    const content = objectAt(raw, "content");
    const relation = objectAt(content, "m.relates_to");
    const related = stringAt(relation, "event_id") ?? stringAt(raw, "redacts") ?? stringAt(content, "redacts");
    const lane = stringAt(relation, "rel_type") === "m.thread" ? related : related === undefined ? undefined : this.lanes.get(related);
    const id = stringAt(raw, "event_id");
    if (lane !== undefined && id !== undefined) {
      this.lanes.set(id, lane);
      if (this.lanes.size > this.remembered) this.lanes.delete(this.lanes.keys().next().value ?? "");
    }
    return lane;
  }
}
