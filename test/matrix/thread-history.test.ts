// Reading a thread for `tickets show`: plain messages as they are, encrypted ones through the
// decrypter, and one that cannot be decrypted shown in its place, never dropped.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventId } from "../../src/core/ids.ts";
import { MatrixApi } from "../../src/adapters/matrix/api.ts";
import { readThread, UNDECRYPTABLE_TEXT } from "../../src/adapters/matrix/thread-history.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { RecordingLogger, ROOM } from "./scripted.ts";

const ROOT = "$root" as EventId;

const event = (id: string, type: string, content: Record<string, unknown>): Record<string, unknown> => ({ event_id: id, sender: "@olga:fake", type, origin_server_ts: 1000, content });

describe("readThread", () => {
  it("decrypts encrypted messages and shows those it cannot decrypt as such", async (t) => {
    const chunk = [
      event("$plain", "m.room.message", { msgtype: "m.text", body: "in clear" }),
      event("$secret", "m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "opens" }),
      event("$lost", "m.room.encrypted", { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "does not open" }),
      event("$reaction", "m.reaction", {}),
    ];
    const hs = await FakeHomeserver.start(() => ({ status: 200, json: { chunk } }));
    t.after(() => hs.stop());
    const api = MatrixApi.create(hs.url, "tok", { logger: new RecordingLogger() });
    const decrypt = (_room: string, raw: object): Promise<{ type: string; content: unknown }> => {
      const ciphertext = (raw as { content: { ciphertext: string } }).content.ciphertext;
      if (ciphertext !== "opens") return Promise.reject(new Error("MissingRoomKey"));
      return Promise.resolve({ type: "m.room.message", content: { msgtype: "m.text", body: "decrypted" } });
    };

    const read = await readThread(api, ROOM, ROOT, decrypt);
    assert.deepEqual(read.map((m) => [m.eventId, m.msgtype, m.body]), [
      ["$plain", "m.text", "in clear"],
      ["$secret", "m.text", "decrypted"],
      ["$lost", "m.notice", UNDECRYPTABLE_TEXT],
    ]);
    // Without keys (encryption off), every encrypted one is shown as such.
    const without = await readThread(api, ROOM, ROOT);
    assert.deepEqual(without.map((m) => m.body), ["in clear", UNDECRYPTABLE_TEXT, UNDECRYPTABLE_TEXT]);
  });
});
