// Encrypted files as a Matrix client makes and reads them (the spec's AES-CTR-256 with a
// SHA-256 of the ciphertext), written from the spec with node:crypto so that the bot's
// crypto library is not checking itself.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import type { MatrixClient } from "matrix-js-sdk";

/** The `file` block of an encrypted media event, without its url. */
// A type, not an interface: it is passed where any JSON object is taken.
export type EncryptedFileKeys = {
  readonly v: "v2";
  readonly key: { readonly kty: "oct"; readonly key_ops: readonly string[]; readonly alg: "A256CTR"; readonly k: string; readonly ext: true };
  readonly iv: string;
  readonly hashes: { readonly sha256: string };
};

const unpadded = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");

export function encryptFile(plain: Uint8Array): { ciphertext: Buffer; keys: EncryptedFileKeys } {
  const key = randomBytes(32);
  // The counter's low 64 bits start at zero.
  const iv = Buffer.concat([randomBytes(8), Buffer.alloc(8)]);
  const cipher = createCipheriv("aes-256-ctr", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    ciphertext,
    keys: {
      v: "v2",
      key: { kty: "oct", key_ops: ["encrypt", "decrypt"], alg: "A256CTR", k: key.toString("base64url"), ext: true },
      iv: unpadded(iv),
      hashes: { sha256: unpadded(createHash("sha256").update(ciphertext).digest()) },
    },
  };
}

/** The plain bytes, after checking the ciphertext's hash as a client does. */
export function decryptFile(ciphertext: Uint8Array, file: { key: { k: string }; iv: string; hashes: { sha256: string } }): Buffer {
  const hash = unpadded(createHash("sha256").update(ciphertext).digest());
  if (hash !== file.hashes.sha256.replace(/=+$/, "")) throw new Error("the file's SHA-256 does not match its event");
  const decipher = createDecipheriv("aes-256-ctr", Buffer.from(file.key.k, "base64url"), Buffer.from(file.iv, "base64"));
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** A file from the homeserver's media repository, as `client` fetches it (authenticated media). */
export async function downloadMedia(client: MatrixClient, mxc: string): Promise<Buffer> {
  const [server, id] = mxc.replace(/^mxc:\/\//, "").split("/");
  const response = await fetch(`${client.getHomeserverUrl()}/_matrix/client/v1/media/download/${server ?? ""}/${id ?? ""}`, {
    headers: { authorization: `Bearer ${client.getAccessToken() ?? ""}` },
  });
  if (!response.ok) throw new Error(`downloading ${mxc}: HTTP ${response.status} ${await response.text()}`);
  return Buffer.from(await response.arrayBuffer());
}
