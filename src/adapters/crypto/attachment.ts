// Files in encrypted rooms: what the homeserver holds is AES-CTR ciphertext, and the event's
// `file` block (key, iv, hashes) is what decrypts it. crypto-wasm checks the hash as it goes.
import { Attachment, EncryptedAttachment, initAsync } from "@matrix-org/matrix-sdk-crypto-wasm";
import { HonoroitError, messageOf } from "../../core/errors.ts";

/** The plain bytes of an encrypted file; a file that does not decrypt is refused for good. */
export async function decryptAttachment(ciphertext: Uint8Array, encryption: Readonly<Record<string, unknown>>): Promise<Uint8Array> {
  await initAsync();
  let attachment: EncryptedAttachment;
  try {
    attachment = new EncryptedAttachment(ciphertext, JSON.stringify(encryption));
  } catch (error) {
    throw new HonoroitError("BAD_DATA", `the file's encryption keys are not usable (${messageOf(error)})`, { cause: error });
  }
  try {
    return Attachment.decrypt(attachment);
  } catch (error) {
    throw new HonoroitError("BAD_DATA", `the file does not decrypt with its keys (${messageOf(error)})`, { cause: error });
  } finally {
    attachment.free();
  }
}
