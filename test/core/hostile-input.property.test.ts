// Generated hostile input against the core, the chat dispatcher and the event parser: wrong
// types, huge bodies, deep or broken HTML, unknown msgtypes, relations to unknown or foreign
// events, odd command arguments. Nothing may throw, stall or escape sanitising.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { IncomingEvent, MessageBody } from "../../src/core/events.ts";
import type { EventId, RoomId, UserId } from "../../src/core/ids.ts";
import { parseTimelineEvent } from "../../src/adapters/matrix/parse.ts";
import { makeHelpdesk, OPS } from "../support/helpdesk-fixture.ts";

const ALICE = "@alice:example.com" as UserId;
const BOB = "@bob:example.com" as UserId;
const OPERATOR = "@op:example.com" as UserId;
const ROOM_A = "!alice-dm:example.com" as RoomId;
const ROOM_B = "!bob-dm:example.com" as RoomId;

const RUNS = { numRuns: 150 };

/** Things a hostile HTML body is made of. */
const htmlPiece = fc.oneof(
  fc.string(),
  fc.constantFrom(
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=//evil></iframe>",
    "<style>*{display:none}</style>",
    "<mx-reply><blockquote>quoted</blockquote></mx-reply>",
    "<div",
    "</b></i></div>",
    '<font color="red" onclick="x()">',
    "<svg><script>1</script></svg>",
    "&lt;script&gt;",
  ),
  fc.nat({ max: 3000 }).map((n) => "<div>".repeat(n)),
);
const html = fc.array(htmlPiece, { maxLength: 8 }).map((parts) => parts.join(""));

const msgtype = fc.oneof(fc.constantFrom("m.text", "m.notice", "m.emote", "m.image", "m.file", "m.audio", "m.video", "m.location", "m.server_notice", ""), fc.string());
const body = fc.oneof(fc.string(), fc.constantFrom("@room", "!ho done", "@room @ROOM hi", ""), fc.nat({ max: 200_000 }).map((n) => "x".repeat(n)));
const media = fc.option(fc.record({ url: fc.oneof(fc.constant("mxc://example.com/m"), fc.string()) }), { nil: undefined });
const content: fc.Arbitrary<MessageBody> = fc.record({ msgtype, body, html: fc.option(html, { nil: undefined }), media }).map((c) => {
  const out: { msgtype: string; body: string; html?: string; media?: { url: string } } = { msgtype: c.msgtype, body: c.body };
  if (c.html !== undefined) out.html = c.html;
  if (c.media !== undefined) out.media = c.media;
  return out;
});

const ALLOWED_COPY_MSGTYPES = new Set(["m.text", "m.image", "m.file", "m.audio", "m.video"]);

describe("hostile input (generated)", () => {
  it("any customer message is relayed as theirs, sanitised, without pinging the room", async () => {
    const h = await makeHelpdesk();
    await fc.assert(
      fc.asyncProperty(content, async (c) => {
        const before = h.messenger.calls.length;
        await h.helpdesk.handle(h.message(ROOM_A, ALICE, c));
        const sent = h.messenger.calls.slice(before).flatMap((call) => (call.op === "send" && call.room === OPS ? [call.message] : []));
        const copy = sent.at(-1);
        assert.ok(copy !== undefined, "the message reached the thread");
        assert.ok(ALLOWED_COPY_MSGTYPES.has(copy.msgtype), `copied as ${copy.msgtype}`);
        assert.ok(copy.body.startsWith("@alice:example.com:"), "labelled with the customer");
        assert.doesNotMatch(copy.body, /@room\b/i);
        if (copy.html !== undefined) {
          assert.doesNotMatch(copy.html, /<script|<iframe|<style|javascript:|\son\w+\s*=/i);
          assert.doesNotMatch(copy.html, /@room\b/i);
        }
        if (copy.media !== undefined) assert.ok(copy.media.url.startsWith("mxc://"), "only mxc media");
      }),
      RUNS,
    );
  });

  it("any `!ho …` from an operator gets an answer or silence, never a crash", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const root = h.messenger.calls.find((c) => c.op === "send" && c.room === OPS);
    assert.ok(root?.op === "send");
    const words = fc.oneof(fc.constantFrom("done", "close", "rename", "note", "invite", "start", "count", "config", "help", "DONE", "config power.level", "config allow.users", "@x:y", "@", "#", "!ho"), fc.string());
    const line = fc.array(words, { minLength: 1, maxLength: 5 }).map((ws) => `!ho ${ws.join(" ")}`);
    await fc.assert(
      fc.asyncProperty(line, fc.boolean(), async (text, inThread) => {
        await h.helpdesk.handle(h.message(OPS, OPERATOR, text, inThread ? { threadRoot: root.id } : {}));
      }),
      RUNS,
    );
    assert.ok(!h.logger.lines.some((l) => l.message === "chat command failed"), "no command failed unexpectedly");
  });

  it("relations to unknown or foreign events do nothing", async () => {
    const h = await makeHelpdesk();
    await h.helpdesk.handle(h.message(ROOM_A, ALICE, "hello"));
    const alices = h.message(ROOM_A, ALICE, "my order");
    await h.helpdesk.handle(alices);
    await h.helpdesk.handle(h.message(ROOM_B, BOB, "hi"));
    const known = h.messenger.calls.flatMap((c) => (c.op === "send" ? [c.id] : []));
    const target = fc.oneof(fc.constantFrom(alices.eventId, ...known), fc.string().map((s) => `$${s}` as EventId));
    let n = 0;
    const relation: fc.Arbitrary<IncomingEvent> = fc.tuple(fc.constantFrom("reaction", "edit", "redaction"), target, fc.string()).map(([type, t, key]) => {
      const base = { room: ROOM_B, sender: BOB, eventId: `$rel${++n}` as EventId, ts: new Date(), target: t };
      if (type === "reaction") return { ...base, type, key };
      if (type === "edit") return { ...base, type, content: { msgtype: "m.text", body: key } };
      return { ...base, type: "redaction" as const };
    });
    const before = h.messenger.calls.length;
    await fc.assert(
      fc.asyncProperty(relation, async (event) => {
        await h.helpdesk.handle(event);
      }),
      RUNS,
    );
    const acted = h.messenger.calls.slice(before).filter((c) => c.op === "react" || c.op === "edit" || c.op === "redact");
    assert.deepEqual(acted, [], "Bob's relations to Alice's request (or to nothing) acted on nothing");
  });

  it("the parser takes any JSON without throwing", () => {
    const event = fc.record(
      {
        type: fc.oneof(fc.constantFrom("m.room.message", "m.reaction", "m.room.redaction", "m.room.member", "m.room.encrypted", "m.sticker"), fc.string()),
        event_id: fc.oneof(fc.constant("$e"), fc.string(), fc.integer()),
        sender: fc.oneof(fc.constant("@a:b"), fc.string(), fc.constant(null)),
        origin_server_ts: fc.oneof(fc.integer(), fc.string(), fc.double()),
        state_key: fc.oneof(fc.constant("@a:b"), fc.string()),
        redacts: fc.oneof(fc.constant("$x"), fc.integer()),
        content: fc.oneof(fc.jsonValue(), fc.record({ msgtype: msgtype, body: fc.jsonValue(), "m.relates_to": fc.jsonValue(), "m.new_content": fc.jsonValue(), url: fc.jsonValue(), membership: fc.jsonValue() })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(event, fc.jsonValue()), (raw) => {
        parseTimelineEvent(ROOM_A, raw);
      }),
      { numRuns: 2000 },
    );
  });
});
