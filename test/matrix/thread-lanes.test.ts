import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ThreadLanes } from "../../src/adapters/matrix/thread-lanes.ts";

const inThread = (id: string, root: string): Record<string, unknown> => ({
  event_id: id,
  type: "m.room.message",
  content: { body: "hi", msgtype: "m.text", "m.relates_to": { rel_type: "m.thread", event_id: root } },
});

describe("thread lanes of the operators room", () => {
  it("a threaded event takes its thread; edits, reactions and redactions of it follow it there", () => {
    const lanes = new ThreadLanes();
    assert.equal(lanes.laneOf(inThread("$reply", "$root")), "$root");
    const edit = { event_id: "$edit", type: "m.room.message", content: { "m.new_content": { body: "x" }, "m.relates_to": { rel_type: "m.replace", event_id: "$reply" } } };
    assert.equal(lanes.laneOf(edit), "$root");
    const reaction = { event_id: "$r", type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$edit", key: "👍" } } };
    assert.equal(lanes.laneOf(reaction), "$root");
    assert.equal(lanes.laneOf({ event_id: "$x", type: "m.room.redaction", redacts: "$reply", content: {} }), "$root");
    assert.equal(lanes.laneOf({ event_id: "$y", type: "m.room.redaction", content: { redacts: "$r" } }), "$root");
  });

  it("anything else keeps its place in the room's order: no lane", () => {
    const lanes = new ThreadLanes(2);
    assert.equal(lanes.laneOf({ event_id: "$cmd", type: "m.room.message", content: { body: "!ho config", msgtype: "m.text" } }), undefined);
    assert.equal(lanes.laneOf({ event_id: "$e", type: "m.room.message", content: { "m.relates_to": { rel_type: "m.replace", event_id: "$unknown" } } }), undefined);
    assert.equal(lanes.laneOf({ event_id: "$m", type: "m.room.member", state_key: "@a:x", content: { membership: "join" } }), undefined);
    // Only the newest events are remembered.
    lanes.laneOf(inThread("$1", "$a"));
    lanes.laneOf(inThread("$2", "$b"));
    lanes.laneOf(inThread("$3", "$c"));
    assert.equal(lanes.laneOf({ event_id: "$e1", type: "m.room.redaction", redacts: "$1", content: {} }), undefined);
    assert.equal(lanes.laneOf({ event_id: "$e3", type: "m.room.redaction", redacts: "$3", content: {} }), "$c");
  });
});
