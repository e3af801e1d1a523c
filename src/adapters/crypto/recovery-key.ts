// The recovery key people write down: the key-backup decryption key in Matrix's key
// representation (base58, a prefix and a parity byte, in groups of four), the form Matrix
// clients show and accept. Encoded by matrix-js-sdk's own functions. Kept in the database
// (sealed with the data secret) for `honoroit crypto recovery-key` to show.
import { decodeRecoveryKey as decode, encodeRecoveryKey as encode } from "matrix-js-sdk/lib/crypto-api/index.js";
import { HonoroitError, messageOf } from "../../core/errors.ts";
import type { KeyValueStore } from "../../core/ports/storage.ts";
import { TokenSeal } from "../matrix/token-seal.ts";

export function encodeRecoveryKey(key: Uint8Array): string {
  const text = encode(key);
  if (text === undefined) throw new Error("the backup key could not be written as a recovery key");
  return text;
}

/** The key bytes of a recovery key as written (spaces anywhere); a mistyped one is refused. */
export function decodeRecoveryKey(text: string): Uint8Array {
  try {
    return decode(text.trim());
  } catch (error) {
    throw new HonoroitError("BAD_CONFIG", `the recovery key is not valid (${messageOf(error)}): check it for typing mistakes`, { cause: error });
  }
}

const NAMESPACE = "crypto";
const KEY = "recovery_key";

/** Keeps the recovery key in the database, sealed with the data secret as the access token is. */
export async function keepRecoveryKey(kv: KeyValueStore, secret: string | undefined, recoveryKey: string): Promise<void> {
  await kv.set(NAMESPACE, KEY, new TokenSeal(secret).seal(recoveryKey));
}

/** Forgets the kept recovery key (its device's keys are gone). */
export async function forgetRecoveryKey(kv: KeyValueStore): Promise<void> {
  await kv.delete(NAMESPACE, KEY);
}

/** The kept recovery key: none yet, or sealed with another data secret. */
export async function keptRecoveryKey(kv: KeyValueStore, secret: string | undefined): Promise<{ readonly key: string } | { readonly missing: "none" | "sealed" }> {
  const stored = await kv.get(NAMESPACE, KEY);
  if (stored === undefined) return { missing: "none" };
  const key = new TokenSeal(secret).open(stored);
  return key === undefined ? { missing: "sealed" } : { key };
}
