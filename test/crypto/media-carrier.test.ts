// What the media carrier does with a file on its way into a room, with a typed in-memory
// media repository: the decisions, not the cryptography (the e2e tests decrypt for real).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_CARRIED_BYTES, MediaCarrier } from "../../src/adapters/crypto/media-carrier.ts";
import type { MediaRepository } from "../../src/adapters/crypto/media-carrier.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import type { OutgoingMessage } from "../../src/core/events.ts";
import type { Logger } from "../../src/core/ports.ts";

const KEYS = { key: { k: "K" }, iv: "IV", hashes: { sha256: "H" }, v: "v2" };
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class MemoryMedia implements MediaRepository {
  readonly uploads: { bytes: string; contentType: string; filename: string | undefined }[] = [];
  downloads = 0;
  constructor(private readonly answer: () => Uint8Array) {}
  download(): Promise<Uint8Array> {
    this.downloads++;
    return Promise.resolve(this.answer());
  }
  upload(bytes: Uint8Array, contentType: string, filename: string | undefined): Promise<string> {
    this.uploads.push({ bytes: Buffer.from(bytes).toString(), contentType, filename });
    return Promise.resolve(`mxc://bot.example/${this.uploads.length}`);
  }
}

const rooms = (encrypted: boolean): { isEncrypted(): Promise<boolean> } => ({ isEncrypted: () => Promise.resolve(encrypted) });
const image = (info: Record<string, unknown>): OutgoingMessage => ({
  msgtype: "m.image",
  body: "Alice: cat.png",
  html: "<b>Alice</b>: cat.png",
  media: { url: "mxc://customer.example/c", filename: "cat.png", info, encryption: KEYS },
});

describe("media carrier", () => {
  it("leaves an encrypted file as it is for an encrypted room, and a plain file for any room", async () => {
    const media = new MemoryMedia(() => new Uint8Array([1]));
    const message = image({ mimetype: "image/png" });
    assert.equal(await new MediaCarrier(rooms(true), media, quiet).carry("!e:x", message), message);
    const plain = { msgtype: "m.image", body: "cat.png", media: { url: "mxc://x/p" } };
    assert.equal(await new MediaCarrier(rooms(false), media, quiet).carry("!p:x", plain), plain);
    assert.equal(media.downloads, 0);
  });

  it("decrypts an encrypted file for a plain room and uploads it with its type and name, dropping the encrypted thumbnail", async () => {
    const media = new MemoryMedia(() => Buffer.from("png bytes"));
    const out = await new MediaCarrier(rooms(false), media, quiet).carry("!p:x", image({ mimetype: "image/png", size: 9, thumbnail_file: KEYS, w: 1 }));
    assert.deepEqual(media.uploads, [{ bytes: "png bytes", contentType: "image/png", filename: "cat.png" }]);
    assert.deepEqual(out.media, { url: "mxc://bot.example/1", filename: "cat.png", info: { mimetype: "image/png", size: 9, w: 1 } });
    assert.equal(out.html, "<b>Alice</b>: cat.png");
  });

  it("turns a file that is refused for good into text saying why, without fetching one declared too large", async () => {
    const broken = new MemoryMedia(() => {
      throw new HonoroitError("BAD_DATA", "the file does not decrypt with its keys (hash mismatch)");
    });
    const out = await new MediaCarrier(rooms(false), broken, quiet).carry("!p:x", image({ mimetype: "image/png" }));
    assert.deepEqual(out, { msgtype: "m.text", body: "Alice: cat.png\n(A file sent encrypted, which could not be passed on here: the file does not decrypt with its keys (hash mismatch))" });

    const huge = new MemoryMedia(() => new Uint8Array());
    const big = await new MediaCarrier(rooms(false), huge, quiet).carry("!p:x", image({ size: MAX_CARRIED_BYTES + 1 }));
    assert.equal(huge.downloads, 0);
    assert.match(big.body, /could not be passed on here: it is larger than the 100 MB the bot decrypts\)$/);
  });

  it("lets a homeserver that is down fail the send, to be retried", async () => {
    const down = new MemoryMedia(() => {
      throw new HonoroitError("UNREACHABLE", "the homeserver is unreachable for a file download");
    });
    await assert.rejects(new MediaCarrier(rooms(false), down, quiet).carry("!p:x", image({})), /unreachable/);
  });
});
