// Files in encrypted rooms, end to end: the real binary against Synapse, a customer and an
// operator on matrix-js-sdk with Rust crypto. What is asserted is what each side's client
// gets: a file it can download and decrypt (or read plainly) to the very bytes sent.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MatrixEvent } from "matrix-js-sdk";
import { decryptFile, downloadMedia, encryptFile } from "../support/attachments.ts";
import type { EncryptedFileKeys } from "../support/attachments.ts";
import { encryptedDm, waitForShown } from "../support/crypto-client.ts";
import type { CryptoPerson } from "../support/crypto-client.ts";
import { encryptedWorld } from "../support/encrypted-world.ts";
import type { EncryptedWorld } from "../support/encrypted-world.ts";
import { waitFor } from "../support/synapse.ts";

const PNG = Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e1c3a70000000049454e44ae426082", "hex");
const PDF = Buffer.from("%PDF-1.4\n% an invoice the operator sends back\n%%EOF\n");

interface FileBlock extends EncryptedFileKeys { readonly url: string }

const body = (ev: MatrixEvent): string => String(ev.getContent().body);
const threadOf = (ev: MatrixEvent): string | undefined => (ev.getContent()["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined)?.event_id;

/** Sends a file as a client does in an encrypted room: ciphertext uploaded, keys in the event. */
async function sendEncryptedFile(who: CryptoPerson, room: string, msgtype: string, name: string, mimetype: string, bytes: Buffer, threadRoot?: string): Promise<void> {
  const { ciphertext, keys } = encryptFile(bytes);
  const { content_uri: url } = await who.client.uploadContent(ciphertext, { type: "application/octet-stream", includeFilename: false });
  await who.client.sendEvent(room, "m.room.message" as never, {
    msgtype,
    body: name,
    file: { ...keys, url },
    info: { mimetype, size: bytes.byteLength },
    ...(threadRoot === undefined ? {} : { "m.relates_to": { rel_type: "m.thread", event_id: threadRoot, is_falling_back: true } }),
  } as never);
}

/** The bytes of the file `ev` carries, as its reader's client gets them. */
async function fileBytes(reader: CryptoPerson, ev: MatrixEvent): Promise<{ bytes: Buffer; encrypted: boolean }> {
  const content = ev.getContent();
  const file = content["file"] as FileBlock | undefined;
  if (file !== undefined) return { bytes: decryptFile(await downloadMedia(reader.client, file.url), file), encrypted: true };
  return { bytes: await downloadMedia(reader.client, String(content["url"])), encrypted: false };
}

async function openThread(w: EncryptedWorld): Promise<{ dm: string; root: string }> {
  await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
  const dm = await encryptedDm(w.customer, w.bot);
  await w.customer.client.sendTextMessage(dm, "I attach a photo of the error");
  const root = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root");
  return { dm, root: root.getId() ?? "" };
}

describe("files in encrypted rooms against Synapse", { timeout: 300_000 }, () => {
  it("passes a file both ways between an encrypted direct chat and an encrypted operators room, still encrypted", async (t) => {
    const w = await encryptedWorld(t, "sqlite");
    if (w === undefined) return;
    const serve = await w.start();
    const { dm, root } = await openThread(w);

    await sendEncryptedFile(w.customer, dm, "m.image", "error.png", "image/png", PNG);
    const copy = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && threadOf(e) === root && e.getContent().msgtype === "m.image", "the customer's image in the thread");
    assert.ok(copy.isEncrypted(), "posted encrypted");
    assert.equal(copy.getContent().url, undefined, "no plain copy of the file");
    assert.deepEqual(await fileBytes(w.operator, copy), { bytes: PNG, encrypted: true });
    assert.equal(body(copy), `Alice Customer (${w.customer.userId}): error.png`);

    await sendEncryptedFile(w.operator, w.opsRoom, "m.file", "invoice.pdf", "application/pdf", PDF, root);
    const reply = await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && e.getContent().msgtype === "m.file", "the operator's file in the customer's chat");
    assert.ok(reply.isEncrypted());
    assert.deepEqual(await fileBytes(w.customer, reply), { bytes: PDF, encrypted: true });
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("decrypts a customer's file for a plain operators room, sends an operator's plain file into the encrypted chat, and says so when a file does not decrypt", async (t) => {
    const w = await encryptedWorld(t, "sqlite", { encryptedOperatorsRoom: false });
    if (w === undefined) return;
    const serve = await w.start();
    const { dm, root } = await openThread(w);

    await sendEncryptedFile(w.customer, dm, "m.image", "error.png", "image/png", PNG);
    const copy = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && threadOf(e) === root && e.getContent().msgtype === "m.image", "the customer's image in the thread");
    assert.ok(!copy.isEncrypted(), "the operators room is not encrypted");
    assert.deepEqual(await fileBytes(w.operator, copy), { bytes: PNG, encrypted: false }, "a plain file the operators' clients can show");
    assert.equal(copy.getContent().filename, "error.png");
    assert.equal((copy.getContent().info as { mimetype?: string } | undefined)?.mimetype, "image/png");

    // A file whose ciphertext is not what its event says (its hash does not match).
    const { ciphertext, keys } = encryptFile(PNG);
    const { content_uri: url } = await w.customer.client.uploadContent(Buffer.concat([ciphertext, Buffer.from("tampered")]), { type: "application/octet-stream", includeFilename: false });
    await w.customer.client.sendEvent(dm, "m.room.message" as never, { msgtype: "m.image", body: "broken.png", file: { ...keys, url }, info: { mimetype: "image/png" } } as never);
    const said = await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && threadOf(e) === root && body(e).includes("broken.png"), "the broken file's message in the thread");
    assert.equal(said.getContent().msgtype, "m.text");
    assert.equal(said.getContent().url, undefined);
    assert.match(body(said), /^Alice Customer \(.*\): broken\.png\n\(A file sent encrypted, which could not be passed on here: the file does not decrypt with its keys \(.+\)\)$/);

    // The operator's reply, a plain file, reaches the customer inside an encrypted event.
    const { content_uri: plain } = await w.operator.client.uploadContent(PDF, { type: "application/pdf", name: "invoice.pdf" });
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, {
      msgtype: "m.file",
      body: "invoice.pdf",
      url: plain,
      info: { mimetype: "application/pdf", size: PDF.byteLength },
      "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true },
    } as never);
    const reply = await waitForShown(w.customer.client, dm, (e) => e.getSender() === w.bot && e.getContent().msgtype === "m.file", "the operator's file in the customer's chat");
    assert.ok(reply.isEncrypted());
    assert.deepEqual(await fileBytes(w.customer, reply), { bytes: PDF, encrypted: false });
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
