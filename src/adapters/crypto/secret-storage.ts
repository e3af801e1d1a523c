// The account's secret storage (Matrix's m.secret_storage.v1.aes-hmac-sha2): secrets kept in
// the bot's account data, encrypted to a storage key. Here the storage key is the recovery
// key (the key backup's key), so the one key the admin keeps opens both the room keys in the
// backup and the cross-signing keys in the storage, as a Matrix client's "security key" does.
// matrix-js-sdk's implementation does the encryption; the account data goes through our API.
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { SECRET_STORAGE_ALGORITHM_V1_AES, ServerSideSecretStorageImpl } from "matrix-js-sdk/lib/secret-storage.js";
import type { AccountDataClient, SecretStorageKey } from "matrix-js-sdk/lib/secret-storage.js";
import { MatrixRequestError, Method, path } from "../matrix/api.ts";
import type { MatrixApi } from "../matrix/api.ts";
import { isObject } from "../matrix/json.ts";

/** What a key opened (a secret missing, or kept for another key only, is undefined). */
export type Secrets<N extends SecretStorageKey> = Readonly<Record<N, string | undefined>>;

export class SecretStorage {
  private readonly storage: ServerSideSecretStorageImpl;
  /** Derived from the key, so that every start finds the description it wrote before. */
  private readonly keyId: string;

  constructor(api: MatrixApi, userId: string, private readonly key: Uint8Array<ArrayBuffer>) {
    this.keyId = `honoroit-${createHash("sha256").update("honoroit secret storage key id").update(key).digest("base64url").slice(0, 16)}`;
    this.storage = new ServerSideSecretStorageImpl(accountData(api, userId), {
      // Asked for a key among those a secret is encrypted to: ours, if it is one of them.
      getSecretStorageKey: async ({ keys }) => {
        for (const [id, info] of Object.entries(keys)) if (await this.storage.checkKey(this.key, info)) return [id, this.key];
        return null;
      },
    });
  }

  /**
   * Keeps the secrets, encrypted to the key, made the account's default storage key unless the
   * account has another (then nothing is written, and the reason returned).
   */
  async keep(secrets: Readonly<Partial<Record<SecretStorageKey, string>>>): Promise<string | undefined> {
    const keyId = await this.ourKeyId();
    if (keyId === undefined) return "the account's secret storage is locked with another key (set up by another Matrix client): the bot's cross-signing keys are not kept in it";
    for (const [name, secret] of Object.entries(secrets) as [SecretStorageKey, string | undefined][]) {
      if (secret === undefined || (await this.holds(name, keyId, secret))) continue;
      await this.storage.store(name, secret, [keyId]);
    }
    return undefined;
  }

  /** The secrets the key opens. */
  async read<N extends SecretStorageKey>(names: readonly N[]): Promise<Secrets<N>> {
    const out = {} as Record<N, string | undefined>;
    for (const name of names) {
      try {
        out[name] = await this.storage.get(name);
      } catch {
        // Not encrypted to this key (or not in the storage's format): not ours to open.
        out[name] = undefined;
      }
    }
    return out;
  }

  /** The id under which the key is the account's default; undefined when another key is. */
  private async ourKeyId(): Promise<string | undefined> {
    const current = await this.storage.getDefaultKeyId();
    if (current !== null) {
      const described = await this.storage.getKey(current);
      return described !== null && (await this.storage.checkKey(this.key, described[1])) ? current : undefined;
    }
    if (!(await this.storage.hasKey(this.keyId))) await this.storage.addKey(SECRET_STORAGE_ALGORITHM_V1_AES, { key: this.key, name: "honoroit recovery key" }, this.keyId);
    await this.storage.setDefaultKeyId(this.keyId);
    return this.keyId;
  }

  private async holds(name: SecretStorageKey, keyId: string, secret: string): Promise<boolean> {
    const stored = await this.storage.isStored(name);
    if (stored === null || !(keyId in stored)) return false;
    return (await this.read([name]))[name] === secret;
  }
}

/** The bot's account data as matrix-js-sdk's secret storage reads and writes it. */
function accountData(api: MatrixApi, userId: string): AccountDataClient {
  const url = (type: string): string => path`/user/${userId}/account_data/${type}`;
  // The storage never listens for echoes of what it wrote; the emitter is only its type's.
  const client = new EventEmitter() as unknown as AccountDataClient;
  client.getAccountDataFromServer = (async (type: string) => {
    try {
      const content = await api.requestObject(Method.Get, url(type));
      // An entry set to {} counts as deleted.
      return isObject(content) && Object.keys(content).length > 0 ? content : null;
    } catch (error) {
      if (error instanceof MatrixRequestError && error.status === 404) return null;
      throw error;
    }
  }) as AccountDataClient["getAccountDataFromServer"];
  client.setAccountData = (async (type: string, content: object) => {
    await api.request(Method.Put, url(type), { body: content as Record<string, unknown> });
    return {};
  });
  return client;
}
