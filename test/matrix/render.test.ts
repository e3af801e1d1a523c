import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { OutgoingMessage } from "../../src/core/events.ts";
import type { EventId, UserId } from "../../src/core/ids.ts";
import { renderEdit, renderMessage, renderReaction } from "../../src/adapters/matrix/render.ts";
import type { EventContent } from "../../src/adapters/matrix/render.ts";

const ROOT = "$root" as EventId;
const ALICE = "@alice:example.com" as UserId;
const BOB = "@bob:example.com" as UserId;

const cases: readonly { name: string; message: OutgoingMessage; content: EventContent }[] = [
  {
    name: "plain text: no one mentioned, still an m.mentions",
    message: { msgtype: "m.notice", body: "hello" },
    content: { msgtype: "m.notice", body: "hello", "m.mentions": { user_ids: [] } },
  },
  {
    name: "html",
    message: { msgtype: "m.text", body: "*hi*", html: "<em>hi</em>" },
    content: {
      msgtype: "m.text",
      body: "*hi*",
      format: "org.matrix.custom.html",
      formatted_body: "<em>hi</em>",
      "m.mentions": { user_ids: [] },
    },
  },
  {
    name: "media with info and filename",
    message: {
      msgtype: "m.image",
      body: "cat.png",
      media: { url: "mxc://example.com/abc", filename: "cat.png", info: { mimetype: "image/png", size: 42 } },
    },
    content: {
      msgtype: "m.image",
      body: "cat.png",
      url: "mxc://example.com/abc",
      info: { mimetype: "image/png", size: 42 },
      filename: "cat.png",
      "m.mentions": { user_ids: [] },
    },
  },
  {
    name: "an encrypted file: its keys and url as `file`, no plain url",
    message: { msgtype: "m.file", body: "f", media: { url: "mxc://example.com/f", encryption: { key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2" } } },
    content: { msgtype: "m.file", body: "f", file: { key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2", url: "mxc://example.com/f" }, "m.mentions": { user_ids: [] } },
  },
  {
    name: "media without info",
    message: { msgtype: "m.file", body: "f", media: { url: "mxc://example.com/f" } },
    content: { msgtype: "m.file", body: "f", url: "mxc://example.com/f", "m.mentions": { user_ids: [] } },
  },
  {
    name: "in a thread, with a per-message profile and mentions (deduplicated)",
    message: {
      msgtype: "m.text",
      body: "Alice (@alice:example.com):\nhelp",
      threadRoot: ROOT,
      profile: { id: ALICE, displayname: "Alice", avatarUrl: "mxc://example.com/av" },
      mentions: [ALICE, BOB, ALICE],
    },
    content: {
      msgtype: "m.text",
      body: "Alice (@alice:example.com):\nhelp",
      "m.relates_to": { rel_type: "m.thread", event_id: ROOT, is_falling_back: true, "m.in_reply_to": { event_id: ROOT } },
      "com.beeper.per_message_profile": { id: ALICE, displayname: "Alice", avatar_url: "mxc://example.com/av" },
      "m.mentions": { user_ids: [ALICE, BOB] },
    },
  },
  {
    name: "profile without avatar",
    message: { msgtype: "m.text", body: "x", profile: { id: BOB, displayname: "Bob" } },
    content: {
      msgtype: "m.text",
      body: "x",
      "com.beeper.per_message_profile": { id: BOB, displayname: "Bob" },
      "m.mentions": { user_ids: [] },
    },
  },
  {
    name: "fields become top-level keys, and cannot override the body",
    message: { msgtype: "m.text", body: "[OPEN] title", fields: { customer: ALICE, homeserver: "example.com", body: "nope" } },
    content: {
      customer: ALICE,
      homeserver: "example.com",
      msgtype: "m.text",
      body: "[OPEN] title",
      "m.mentions": { user_ids: [] },
    },
  },
];

describe("renderMessage", () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(renderMessage(c.message), c.content);
    });
  }
});

describe("renderEdit", () => {
  it("prefixes the fallback with '* ' and carries the full new content", () => {
    const target = "$title" as EventId;
    assert.deepEqual(renderEdit(target, { msgtype: "m.text", body: "[DONE] t", html: "<b>[DONE]</b> t", mentions: [] }), {
      msgtype: "m.text",
      body: "* [DONE] t",
      format: "org.matrix.custom.html",
      formatted_body: "* <b>[DONE]</b> t",
      "m.mentions": { user_ids: [] },
      "m.new_content": {
        msgtype: "m.text",
        body: "[DONE] t",
        format: "org.matrix.custom.html",
        formatted_body: "<b>[DONE]</b> t",
        "m.mentions": { user_ids: [] },
      },
      "m.relates_to": { rel_type: "m.replace", event_id: target },
    });
  });

  it("keeps fields and the profile in the new content, and never adds a thread relation", () => {
    const content = renderEdit("$x" as EventId, {
      msgtype: "m.text",
      body: "b",
      threadRoot: ROOT,
      fields: { customer: ALICE },
      profile: { id: ALICE, displayname: "Alice" },
    });
    assert.deepEqual(content["m.relates_to"], { rel_type: "m.replace", event_id: "$x" });
    assert.deepEqual(content["m.new_content"], {
      customer: ALICE,
      msgtype: "m.text",
      body: "b",
      "com.beeper.per_message_profile": { id: ALICE, displayname: "Alice" },
      "m.mentions": { user_ids: [] },
    });
  });
});

describe("renderReaction", () => {
  it("is an m.annotation", () => {
    assert.deepEqual(renderReaction("$m" as EventId, "👍"), {
      "m.relates_to": { rel_type: "m.annotation", event_id: "$m", key: "👍" },
    });
  });
});
