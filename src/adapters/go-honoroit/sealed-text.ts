// The Go bot's account-data sealing (HONOROIT_DATA_SECRET), read-only: each key and each value
// of a content map is sealed on its own with AES-GCM, the secret's bytes used as the key.
//   current: `ENCv1[` + base64url without padding of (12-byte nonce ‖ ciphertext ‖ 16-byte tag) + `]`
//   older:   standard base64 of the same bytes, with no wrapper
// Data written before a secret was set stays plaintext beside sealed data.
import { createDecipheriv, type CipherGCMTypes } from "node:crypto";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CURRENT_START = "ENCv1[";
const CURRENT_END = "]";
const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What one string of the Go bot's account data turned out to be. */
export type Opened =
  | { readonly kind: "plain"; readonly text: string }
  | { readonly kind: "sealed"; readonly text: string }
  /** Sealed in the current format (so certainly sealed), but the key does not open it. */
  | { readonly kind: "unreadable"; readonly reason: string }
  /** In the older format's shape, and the key does not open it: sealed with another key, or plaintext that looks like base64. */
  | { readonly kind: "doubtful"; readonly text: string };

/** Opens the Go bot's sealed strings with its data secret (undefined: none configured). */
export class GoSealedText {
  readonly #key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.#key = secret === undefined ? undefined : Buffer.from(secret, "utf8");
    if (this.#key !== undefined && ![16, 24, 32].includes(this.#key.length)) {
      throw new Error(`the data secret must be 16, 24 or 32 bytes (it is ${this.#key.length})`);
    }
  }

  get hasSecret(): boolean {
    return this.#key !== undefined;
  }

  open(value: string): Opened {
    if (value.startsWith(CURRENT_START) && value.length > CURRENT_START.length) {
      if (this.#key === undefined) return { kind: "unreadable", reason: "it is sealed and no data secret is configured (HONOROIT_DATA_SECRET)" };
      if (!value.endsWith(CURRENT_END)) return { kind: "unreadable", reason: "it starts like a sealed value but has no closing ]" };
      const payload = value.slice(CURRENT_START.length, -CURRENT_END.length);
      if (!/^[A-Za-z0-9_-]+$/.test(payload)) return { kind: "unreadable", reason: "its sealed part is not base64url" };
      const text = this.#decrypt(Buffer.from(payload, "base64url"));
      return text === undefined ? { kind: "unreadable", reason: "the data secret does not open it" } : { kind: "sealed", text };
    }
    // The smallest sealed value (one byte) is 29 bytes, 40 base64 characters.
    if (value.length >= 40 && STANDARD_BASE64.test(value)) {
      if (this.#key === undefined) return { kind: "unreadable", reason: "it looks sealed and no data secret is configured (HONOROIT_DATA_SECRET)" };
      const text = this.#decrypt(Buffer.from(value, "base64"));
      return text === undefined ? { kind: "doubtful", text: value } : { kind: "sealed", text };
    }
    return { kind: "plain", text: value };
  }

  #decrypt(bytes: Buffer): string | undefined {
    if (this.#key === undefined || bytes.length < NONCE_BYTES + TAG_BYTES) return undefined;
    const nonce = bytes.subarray(0, NONCE_BYTES);
    const tag = bytes.subarray(bytes.length - TAG_BYTES);
    const sealed = bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv(`aes-${this.#key.length * 8}-gcm` as CipherGCMTypes, this.#key, nonce);
      decipher.setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
      return new TextDecoder("utf-8", { fatal: true }).decode(plain);
    } catch {
      return undefined;
    }
  }
}
