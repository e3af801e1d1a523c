import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { IncomingEvent } from "../../src/core/events.ts";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import { parseInvite, parseTimelineEvent } from "../../src/adapters/matrix/parse.ts";

const ROOM = "!room:example.com" as RoomId;
const BOT = "@bot:example.com" as UserId;
const TS = 1_700_000_000_000;

/** A well-formed timeline event with `over` merged in. */
function ev(over: Record<string, unknown>): Record<string, unknown> {
  return { event_id: "$e1", sender: "@alice:example.com", origin_server_ts: TS, type: "m.room.message", content: {}, ...over };
}

/** An expected event written with plain strings for ids. */
const E = (x: object): IncomingEvent => x as IncomingEvent;

const base = { room: ROOM, eventId: "$e1", sender: "@alice:example.com", ts: new Date(TS) };

const cases: readonly { name: string; raw: unknown; expected: IncomingEvent | undefined }[] = [
  {
    name: "text message",
    raw: ev({ content: { msgtype: "m.text", body: "hi" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "hi" } }),
  },
  {
    name: "html message",
    raw: ev({ content: { msgtype: "m.text", body: "*hi*", format: "org.matrix.custom.html", formatted_body: "<em>hi</em>" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "*hi*", html: "<em>hi</em>" } }),
  },
  {
    name: "formatted_body in an unknown format is ignored",
    raw: ev({ content: { msgtype: "m.text", body: "x", format: "text/markdown", formatted_body: "*x*" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "x" } }),
  },
  {
    name: "threaded message with a fallback reply: thread root, no reply",
    raw: ev({
      content: {
        msgtype: "m.text",
        body: "in thread",
        "m.relates_to": { rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$root" } },
      },
    }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "in thread" }, threadRoot: "$root" }),
  },
  {
    name: "a real reply inside a thread",
    raw: ev({
      content: {
        msgtype: "m.text",
        body: "re",
        "m.relates_to": { rel_type: "m.thread", event_id: "$root", is_falling_back: false, "m.in_reply_to": { event_id: "$other" } },
      },
    }),
    expected: E({
      ...base, type: "message", content: { msgtype: "m.text", body: "re" }, threadRoot: "$root", replyTo: "$other",
    }),
  },
  {
    name: "plain reply",
    raw: ev({ content: { msgtype: "m.text", body: "re", "m.relates_to": { "m.in_reply_to": { event_id: "$parent" } } } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "re" }, replyTo: "$parent" }),
  },
  {
    name: "image with info and filename",
    raw: ev({
      content: { msgtype: "m.image", body: "cat", url: "mxc://example.com/cat", filename: "cat.png", info: { mimetype: "image/png", w: 10 } },
    }),
    expected: E({
      ...base,
      type: "message",
      content: { msgtype: "m.image", body: "cat", media: { url: "mxc://example.com/cat", filename: "cat.png", info: { mimetype: "image/png", w: 10 } } },
    }),
  },
  {
    name: "encrypted media (file, no url): its url, and its keys kept apart",
    raw: ev({ content: { msgtype: "m.file", body: "secret.pdf", file: { url: "mxc://example.com/x", key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2" } } }),
    expected: E({
      ...base,
      type: "message",
      content: { msgtype: "m.file", body: "secret.pdf", media: { url: "mxc://example.com/x", encryption: { key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2" } } },
    }),
  },
  {
    name: "encrypted media whose file has no mxc url has no media",
    raw: ev({ content: { msgtype: "m.file", body: "secret.pdf", file: { url: "https://example.com/x", key: {} }, url: "mxc://example.com/decoy" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.file", body: "secret.pdf" } }),
  },
  {
    name: "a url that is not mxc is not media",
    raw: ev({ content: { msgtype: "m.file", body: "f", url: "https://example.com/f" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.file", body: "f" } }),
  },
  {
    name: "a notice (or any msgtype that is not a file's) with an mxc url is text, not media",
    raw: ev({ content: { msgtype: "m.notice", body: "Request #1 is closed", url: "mxc://example.com/n" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.notice", body: "Request #1 is closed" } }),
  },
  {
    name: "sticker becomes an image message",
    raw: ev({ type: "m.sticker", content: { body: "wave", url: "mxc://example.com/s", info: { mimetype: "image/webp" } } }),
    expected: E({
      ...base, type: "message", content: { msgtype: "m.image", body: "wave", media: { url: "mxc://example.com/s", info: { mimetype: "image/webp" } } },
    }),
  },
  {
    name: "edit uses m.new_content",
    raw: ev({
      content: {
        msgtype: "m.text",
        body: "* fixed",
        "m.new_content": { msgtype: "m.text", body: "fixed", format: "org.matrix.custom.html", formatted_body: "<b>fixed</b>" },
        "m.relates_to": { rel_type: "m.replace", event_id: "$orig" },
      },
    }),
    expected: E({ ...base, type: "edit", target: "$orig", content: { msgtype: "m.text", body: "fixed", html: "<b>fixed</b>" } }),
  },
  {
    name: "edit whose m.new_content lacks msgtype takes the fallback's",
    raw: ev({
      content: { msgtype: "m.notice", body: "* x", "m.new_content": { body: "x" }, "m.relates_to": { rel_type: "m.replace", event_id: "$orig" } },
    }),
    expected: E({ ...base, type: "edit", target: "$orig", content: { msgtype: "m.notice", body: "x" } }),
  },
  {
    name: "edit without m.new_content",
    raw: ev({ content: { msgtype: "m.text", body: "* x", "m.relates_to": { rel_type: "m.replace", event_id: "$orig" } } }),
    expected: undefined,
  },
  {
    name: "reaction",
    raw: ev({ type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$msg", key: "👍" } } }),
    expected: E({ ...base, type: "reaction", target: "$msg", key: "👍" }),
  },
  {
    name: "reaction without key",
    raw: ev({ type: "m.reaction", content: { "m.relates_to": { rel_type: "m.annotation", event_id: "$msg" } } }),
    expected: undefined,
  },
  {
    name: "redaction, room v11 (redacts in content) with reason",
    raw: ev({ type: "m.room.redaction", content: { redacts: "$bad", reason: "oops" } }),
    expected: E({ ...base, type: "redaction", target: "$bad", reason: "oops" }),
  },
  {
    name: "redaction, older rooms (top-level redacts)",
    raw: ev({ type: "m.room.redaction", redacts: "$bad", content: {} }),
    expected: E({ ...base, type: "redaction", target: "$bad" }),
  },
  {
    name: "redaction without target",
    raw: ev({ type: "m.room.redaction", content: {} }),
    expected: undefined,
  },
  {
    name: "membership: join after invite, with displayname",
    raw: ev({
      type: "m.room.member",
      state_key: "@carol:example.com",
      content: { membership: "join", displayname: "Carol" },
      unsigned: { prev_content: { membership: "invite" } },
    }),
    expected: E({
      ...base, type: "membership", user: "@carol:example.com", membership: "join", previous: "invite", displayname: "Carol",
    }),
  },
  {
    name: "membership: leave, no previous",
    raw: ev({ type: "m.room.member", state_key: "@alice:example.com", content: { membership: "leave" } }),
    expected: E({ ...base, type: "membership", user: "@alice:example.com", membership: "leave" }),
  },
  {
    name: "membership: unknown value",
    raw: ev({ type: "m.room.member", state_key: "@alice:example.com", content: { membership: "wander" } }),
    expected: undefined,
  },
  {
    name: "membership: state_key not a user",
    raw: ev({ type: "m.room.member", state_key: "", content: { membership: "join" } }),
    expected: undefined,
  },
  {
    name: "encrypted",
    raw: ev({ type: "m.room.encrypted", content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "…" } }),
    expected: E({ ...base, type: "undecryptable" }),
  },
  {
    name: "redacted message is skipped",
    raw: ev({ content: {}, unsigned: { redacted_because: { type: "m.room.redaction" } } }),
    expected: undefined,
  },
  { name: "other state event", raw: ev({ type: "m.room.topic", state_key: "", content: { topic: "t" } }), expected: undefined },
  // Malformed input: never a throw, always undefined.
  { name: "null", raw: null, expected: undefined },
  { name: "a string", raw: "m.room.message", expected: undefined },
  { name: "an array", raw: [ev({ content: { msgtype: "m.text", body: "x" } })], expected: undefined },
  { name: "no event_id", raw: ev({ event_id: undefined, content: { msgtype: "m.text", body: "x" } }), expected: undefined },
  { name: "bad event_id", raw: ev({ event_id: "e1", content: { msgtype: "m.text", body: "x" } }), expected: undefined },
  { name: "no sender", raw: ev({ sender: undefined, content: { msgtype: "m.text", body: "x" } }), expected: undefined },
  { name: "bad sender", raw: ev({ sender: "alice", content: { msgtype: "m.text", body: "x" } }), expected: undefined },
  { name: "no timestamp", raw: ev({ origin_server_ts: "yesterday", content: { msgtype: "m.text", body: "x" } }), expected: undefined },
  { name: "content not an object", raw: ev({ content: "hi" }), expected: undefined },
  { name: "body not a string", raw: ev({ content: { msgtype: "m.text", body: 42 } }), expected: undefined },
  { name: "no msgtype", raw: ev({ content: { body: "x" } }), expected: undefined },
  {
    name: "m.relates_to not an object",
    raw: ev({ content: { msgtype: "m.text", body: "x", "m.relates_to": "$root" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "x" } }),
  },
  {
    name: "thread root not an event id",
    raw: ev({ content: { msgtype: "m.text", body: "x", "m.relates_to": { rel_type: "m.thread", event_id: 7 } } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.text", body: "x" } }),
  },
  { name: "info not an object is dropped", raw: ev({ content: { msgtype: "m.image", body: "i", url: "mxc://a/b", info: "big" } }),
    expected: E({ ...base, type: "message", content: { msgtype: "m.image", body: "i", media: { url: "mxc://a/b" } } }) },
];

describe("parseTimelineEvent", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(parseTimelineEvent(ROOM, c.raw), c.expected);
    });
  }

  it("never throws, whatever it is given", () => {
    const hostile = [undefined, 0, true, Symbol("x"), () => 1, new Map(), Object.create(null) as object,
      { content: null }, { event_id: "$x", sender: "@a:b", origin_server_ts: 1, type: "m.room.member", content: { membership: "join" } }];
    for (const raw of hostile) assert.doesNotThrow(() => parseTimelineEvent(ROOM, raw));
  });
});

describe("parseInvite", () => {
  const member = {
    type: "m.room.member",
    state_key: BOT,
    sender: "@alice:example.com",
    content: { membership: "invite", is_direct: true },
    event_id: "$invite",
    origin_server_ts: TS,
  };
  const received = new Date(TS + 5000);

  it("reads the bot's invite member event from the stripped state", () => {
    const invited = { invite_state: { events: [{ type: "m.room.name", state_key: "", content: { name: "x" } }, member] } };
    assert.deepEqual(parseInvite(ROOM, invited, BOT, received), {
      type: "invite", room: ROOM, eventId: "$invite", sender: "@alice:example.com", ts: new Date(TS), isDirect: true,
    });
  });

  it("is_direct missing means not direct", () => {
    const invited = { invite_state: { events: [{ ...member, content: { membership: "invite" } }] } };
    assert.equal(parseInvite(ROOM, invited, BOT, received)?.isDirect, false);
  });

  it("stripped state without event id and timestamp: a stable derived id, the receive time", () => {
    const stripped = { type: "m.room.member", state_key: BOT, sender: "@alice:example.com", content: { membership: "invite" } };
    const a = parseInvite(ROOM, { invite_state: { events: [stripped] } }, BOT, received);
    const b = parseInvite(ROOM, { invite_state: { events: [stripped] } }, BOT, received);
    assert.ok(a !== undefined);
    assert.match(a.eventId, /^\$/);
    assert.equal(a.eventId, b?.eventId);
    assert.deepEqual(a.ts, received);
  });

  const bad: readonly [string, unknown][] = [
    ["not an object", "invite"],
    ["no invite_state", {}],
    ["events not an array", { invite_state: { events: {} } }],
    ["someone else's invite", { invite_state: { events: [{ ...member, state_key: "@other:example.com" }] } }],
    ["membership not invite", { invite_state: { events: [{ ...member, content: { membership: "join" } }] } }],
    ["bad sender", { invite_state: { events: [{ ...member, sender: "nobody" }] } }],
  ];
  for (const [name, invited] of bad) {
    it(`undefined when ${name}`, () => {
      assert.equal(parseInvite(ROOM, invited, BOT, received), undefined);
    });
  }
});
