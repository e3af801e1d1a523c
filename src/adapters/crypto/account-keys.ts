// What lets the bot's keys outlive its database: cross-signing (the account signs the bot's
// device, so people's clients see a device its owner vouches for), the server-side key backup
// (room keys, encrypted to a key only the recovery key opens) and the account's secret storage
// (the cross-signing keys, encrypted to the same recovery key, so that a device that replaces
// this one is signed by the account too). Set up at start, once per account and device; a step
// that fails is logged and tried again at the next start, and never stops serve. Every key is
// saved in the crypto state before the homeserver hears of it.
import { BackupDecryptionKey, KeysUploadRequest, RoomId } from "@matrix-org/matrix-sdk-crypto-wasm";
import { HonoroitError, messageOf } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import { MatrixRequestError, Method } from "../matrix/api.ts";
import type { MatrixApi } from "../matrix/api.ts";
import { isObject, objectAt, stringAt } from "../matrix/json.ts";
import type { OlmEngine } from "./olm-engine.ts";
import { decodeRecoveryKey, encodeRecoveryKey } from "./recovery-key.ts";
import { SecretStorage } from "./secret-storage.ts";

const MASTER = "m.cross_signing.master";
const SELF_SIGNING = "m.cross_signing.self_signing";
const USER_SIGNING = "m.cross_signing.user_signing";

/** Why a step cannot be done on this device (not an error: serve goes on without it). */
interface Cannot {
  readonly message: string;
  /** The key backup's version it is about. */
  readonly version?: string;
}

function said(message: string | undefined): Cannot | undefined {
  return message === undefined ? undefined : { message };
}

/** The account's current key backup on the homeserver. */
interface ServerBackup {
  readonly version: string;
  readonly publicKey: string | undefined;
}

export interface AccountKeysOptions {
  /** A recovery key to restore the backup with, on a device that has none (a lost database). */
  readonly recoveryKey?: string | undefined;
}

export class AccountKeys {
  constructor(
    private readonly engine: OlmEngine,
    private readonly api: MatrixApi,
    private readonly userId: string,
    private readonly logger: Logger,
    private readonly keep: ((recoveryKey: string) => Promise<void>) | undefined,
  ) {}

  /** Sets up what is missing; returns what could not be, in words (each also logged). */
  async setUp(options: AccountKeysOptions): Promise<string[]> {
    const steps: readonly (readonly [string, () => Promise<Cannot | undefined>])[] = [
      ["cross-signing", async () => said(await this.crossSign(options.recoveryKey))],
      ["key backup", () => this.backUp(options.recoveryKey)],
      ["secret storage", async () => said(await this.keepSecrets())],
    ];
    const problems: string[] = [];
    for (const [what, step] of steps) {
      try {
        const cannot = await step();
        if (cannot === undefined) continue;
        problems.push(`${what}: ${cannot.message}`);
        this.logger.warn(cannot.message, cannot.version === undefined ? {} : { version: cannot.version });
      } catch (error) {
        problems.push(`${what}: ${messageOf(error)}`);
        // A recovery key that does not fit is the admin's to fix: said loudly, serve goes on.
        this.logger[error instanceof HonoroitError ? "error" : "warn"](`${what} could not be set up; tried again at the next start`, { error: messageOf(error) });
      }
    }
    return problems;
  }

  /**
   * Cross-signs the device, with new keys or, given the recovery key, the account's from its
   * secret storage; says why when it cannot (another device holds the account's keys).
   */
  private async crossSign(recoveryKey: string | undefined): Promise<string | undefined> {
    const status = await this.engine.exclusive((m) => m.crossSigningStatus());
    const published = await this.publishedMasterKey();
    if (status.hasMaster && published) return undefined;
    if (!status.hasMaster && published) {
      if (recoveryKey !== undefined) return this.restoreCrossSigning(recoveryKey);
      return "the bot's account already has cross-signing keys that this device does not hold (made by another device, or by the bot before its database was lost; HONOROIT_RECOVERY_KEY takes them back); this device stays signed by itself only";
    }
    // Keys made and saved before an upload that did not finish are uploaded again, not replaced.
    const requests = await this.engine.exclusive((m) => m.bootstrapCrossSigning(!status.hasMaster));
    // Typed `any` by the bindings: a KeysUploadRequest when there is one.
    const upload: unknown = requests.uploadKeysRequest;
    if (upload instanceof KeysUploadRequest) await this.engine.send(upload);
    try {
      await this.api.request(Method.Post, "/keys/device_signing/upload", { body: JSON.parse(requests.uploadSigningKeysRequest.body) as Record<string, unknown> });
    } catch (error) {
      if (error instanceof MatrixRequestError && error.status === 401) {
        throw new Error("the homeserver asks for interactive authentication to publish cross-signing keys, which the bot does not do", { cause: error });
      }
      throw error;
    }
    await this.engine.send(requests.uploadSignaturesRequest);
    this.logger.info("cross-signing set up: the bot's account signs its device");
    return undefined;
  }

  /** A new device given the recovery key: the account's cross-signing keys, from its secret storage, sign it. */
  private async restoreCrossSigning(recoveryKey: string): Promise<string | undefined> {
    const storage = new SecretStorage(this.api, this.userId, new Uint8Array(decodeRecoveryKey(recoveryKey)));
    const secrets = await storage.read([MASTER, SELF_SIGNING, USER_SIGNING]);
    const master = secrets[MASTER];
    const selfSigning = secrets[SELF_SIGNING];
    if (master === undefined || selfSigning === undefined) {
      return "the account's cross-signing keys are not in its secret storage under HONOROIT_RECOVERY_KEY (a bot set up before it kept them there has none; or the key is another backup's): this device stays signed by itself only";
    }
    // The account's public keys are fetched first: the private ones imported are checked against them.
    await this.engine.sendOutgoing();
    const status = await this.engine.exclusive((m) => m.importCrossSigningKeys(master, selfSigning, secrets[USER_SIGNING] ?? null));
    if (!status.hasMaster || !status.hasSelfSigning) return "the cross-signing keys in the account's secret storage do not match its published ones: this device stays signed by itself only";
    const signature = await this.engine.exclusive(async (m) => (await m.getDevice(m.userId, m.deviceId))?.verify());
    if (signature === undefined) return "this device's own keys are not known yet: it is cross-signed at the next start";
    await this.engine.send(signature);
    this.logger.info("cross-signing restored from the account's secret storage: the account signs this new device");
    return undefined;
  }

  /**
   * Keeps the cross-signing keys (and the backup key, as Matrix clients expect) in the account's
   * secret storage, encrypted to the recovery key, for a device that replaces this one.
   */
  private async keepSecrets(): Promise<string | undefined> {
    const [exported, backup] = await this.engine.exclusive(async (m) => [await m.exportCrossSigningKeys(), await m.getBackupKeys()] as const);
    const backupKey = backup.decryptionKey?.toBase64();
    if (exported?.masterKey === undefined || exported.self_signing_key === undefined || backupKey === undefined) return undefined;
    const storage = new SecretStorage(this.api, this.userId, new Uint8Array(Buffer.from(backupKey, "base64")));
    return storage.keep({
      [MASTER]: exported.masterKey,
      [SELF_SIGNING]: exported.self_signing_key,
      ...(exported.userSigningKey === undefined ? {} : { [USER_SIGNING]: exported.userSigningKey }),
      "m.megolm_backup.v1": backupKey,
    });
  }

  private async publishedMasterKey(): Promise<boolean> {
    const answer = await this.api.requestObject(Method.Post, "/keys/query", { body: { device_keys: { [this.userId]: [] } } });
    return objectAt(objectAt(answer, "master_keys"), this.userId) !== undefined;
  }

  /** Backs up to the account's backup, made if none; says why when it cannot (it is another device's). */
  private async backUp(recoveryKey: string | undefined): Promise<Cannot | undefined> {
    const server = await this.serverBackup();
    const local = await this.engine.exclusive((m) => m.getBackupKeys());
    const key = local.decryptionKey;
    if (key !== undefined) {
      const publicKey = key.megolmV1PublicKey.publicKeyBase64;
      if (server === undefined) {
        await this.enable(key, await this.createBackup(publicKey));
        this.logger.info("key backup created: `honoroit crypto recovery-key` shows the key that restores it");
      } else if (server.publicKey === publicKey) {
        // Ours (also one created by an attempt whose answer was lost).
        await this.enable(key, server.version);
      } else {
        return { message: "the account's key backup was replaced from another device: this device does not back up its keys to it", version: server.version };
      }
      return undefined;
    }
    if (recoveryKey !== undefined) {
      await this.restore(recoveryKey, server);
      return undefined;
    }
    if (server !== undefined) {
      return { message: "the account has a key backup this device holds no key for: set HONOROIT_RECOVERY_KEY to restore from it (this device goes on without a backup)", version: server.version };
    }
    // A new key, saved before the homeserver hears of it; a crash before the version is known
    // leaves it saved, and the next start creates (or finds) the backup with it.
    const fresh = BackupDecryptionKey.createRandomKey();
    const publicKey = fresh.megolmV1PublicKey.publicKeyBase64;
    const saved = fresh.toBase64();
    await this.engine.exclusive((m) => m.saveBackupDecryptionKey(fresh, ""));
    await this.enable(BackupDecryptionKey.fromBase64(saved), await this.createBackup(publicKey));
    this.logger.info("key backup created: `honoroit crypto recovery-key` shows the key that restores it");
    return undefined;
  }

  private async serverBackup(): Promise<ServerBackup | undefined> {
    try {
      const answer = await this.api.requestObject(Method.Get, "/room_keys/version");
      const version = stringAt(answer, "version");
      if (version === undefined) return undefined;
      return { version, publicKey: stringAt(objectAt(answer, "auth_data"), "public_key") };
    } catch (error) {
      if (error instanceof MatrixRequestError && error.status === 404) return undefined;
      throw error;
    }
  }

  private async createBackup(publicKey: string): Promise<string> {
    const authData: Record<string, unknown> = { public_key: publicKey };
    // Signed by the device (and the account's master key once cross-signed): clients trust it.
    const signatures = await this.engine.exclusive((m) => m.sign(JSON.stringify(authData)));
    authData["signatures"] = JSON.parse(signatures.asJSON()) as unknown;
    const answer = await this.api.requestObject(Method.Post, "/room_keys/version", { body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: authData } });
    const version = stringAt(answer, "version");
    if (version === undefined) throw new Error("the homeserver created a key backup without saying its version");
    return version;
  }

  /** Backs up to `version` with `key` (taken: the bindings own it after), and keeps its recovery key. */
  private async enable(key: BackupDecryptionKey, version: string): Promise<void> {
    const publicKey = key.megolmV1PublicKey.publicKeyBase64;
    const recoveryKey = encodeRecoveryKey(Buffer.from(key.toBase64(), "base64"));
    await this.engine.exclusive(async (m) => {
      await m.saveBackupDecryptionKey(key, version);
      await m.enableBackupV1(publicKey, version);
    });
    await this.keep?.(recoveryKey);
  }

  /** A new device given the recovery key: the backup's room keys are imported, and it goes on backing up. */
  private async restore(recoveryKey: string, server: ServerBackup | undefined): Promise<void> {
    const key = BackupDecryptionKey.fromBase64(Buffer.from(decodeRecoveryKey(recoveryKey)).toString("base64"));
    if (server === undefined) throw new HonoroitError("BAD_CONFIG", "HONOROIT_RECOVERY_KEY is set, but the account has no key backup to restore");
    if (server.publicKey !== key.megolmV1PublicKey.publicKeyBase64) {
      throw new HonoroitError("BAD_CONFIG", `HONOROIT_RECOVERY_KEY does not open the account's key backup (version ${server.version}): it belongs to another backup`);
    }
    const answer = await this.api.requestObject(Method.Get, "/room_keys/keys", { query: { version: server.version } });
    const rooms = new Map<RoomId, Map<string, unknown>>();
    let failed = 0;
    for (const [room, data] of Object.entries(objectAt(answer, "rooms") ?? {})) {
      const sessions = new Map<string, unknown>();
      for (const [session, backup] of Object.entries(objectAt(isObject(data) ? data : undefined, "sessions") ?? {})) {
        const sealed = objectAt(isObject(backup) ? backup : undefined, "session_data");
        try {
          sessions.set(session, JSON.parse(key.decryptV1(stringAt(sealed, "ephemeral") ?? "", stringAt(sealed, "mac") ?? "", stringAt(sealed, "ciphertext") ?? "")) as unknown);
        } catch {
          failed++;
        }
      }
      if (sessions.size > 0) rooms.set(new RoomId(room), sessions);
    }
    const result = await this.engine.exclusive((m) => m.importBackedUpRoomKeys(rooms, () => undefined, server.version));
    await this.enable(key, server.version);
    this.logger.info("key backup restored with the recovery key", { version: server.version, imported: result.importedCount, total: result.totalCount, undecryptable: failed });
  }
}
