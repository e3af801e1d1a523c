// The bot's end-to-end encryption: one OlmMachine (crypto-wasm) whose state lives in our
// database (CryptoPersistence). Every call that may change that state runs alone and is saved
// before the next one starts, so no request ever leaves the process (a keys upload, a room key
// shared, an encrypted message) before what it depends on is durable.
import {
  CollectStrategy,
  DecryptionSettings,
  DeviceId,
  DeviceLists,
  EncryptionSettings,
  initAsync,
  KeysBackupRequest,
  KeysClaimRequest,
  KeysQueryRequest,
  KeysUploadRequest,
  OlmMachine,
  RequestType,
  RoomId,
  RoomMessageRequest,
  SignatureUploadRequest,
  ToDeviceRequest,
  TrustRequirement,
  UserId,
} from "@matrix-org/matrix-sdk-crypto-wasm";
import type { Logger } from "../../core/ports.ts";
import type { CryptoStateStore } from "../../core/ports/storage.ts";
import { MatrixRequestError, Method, path } from "../matrix/api.ts";
import type { MatrixApi } from "../matrix/api.ts";
import { CryptoPersistence } from "./crypto-persistence.ts";
import type { CryptoPersistenceHealth } from "./crypto-persistence.ts";

/** The name of the IndexedDB store inside fake-indexeddb (one machine per process). */
/** The machine's IndexedDB name (its content is what our database keeps). */
export const STORE_NAME = "honoroit";

/** What one /sync tells the crypto machine. */
export interface SyncChanges {
  readonly toDevice: readonly unknown[];
  readonly changed: readonly string[];
  readonly left: readonly string[];
  readonly oneTimeKeyCounts: ReadonlyMap<string, number>;
  /** undefined when the homeserver did not say (then the machine keeps what it knew). */
  readonly unusedFallbackKeys: ReadonlySet<string> | undefined;
}

export interface OlmEngineOptions {
  readonly api: MatrixApi;
  readonly store: CryptoStateStore;
  readonly secret: string | undefined;
  readonly userId: string;
  readonly deviceId: string;
  readonly logger: Logger;
}

export type Outgoing = Awaited<ReturnType<OlmMachine["outgoingRequests"]>>[number] | ToDeviceRequest | KeysClaimRequest | KeysBackupRequest | SignatureUploadRequest | KeysUploadRequest;

/** The OlmMachine, driven one state change at a time and saved after each. */
export class OlmEngine {
  private lock: Promise<unknown> = Promise.resolve();
  private draining: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly machine: OlmMachine,
    private readonly persistence: CryptoPersistence,
    private readonly api: MatrixApi,
    private readonly logger: Logger,
  ) {}

  /** Restores the saved state (or starts a new one for this device) and saves it. */
  static async start(options: OlmEngineOptions): Promise<OlmEngine> {
    await initAsync();
    const persistence = new CryptoPersistence({ store: options.store, secret: options.secret, logger: options.logger });
    const restored = await persistence.restore();
    persistence.recorder.installGlobals();
    const machine = await OlmMachine.initialize(new UserId(options.userId), new DeviceId(options.deviceId), STORE_NAME);
    await persistence.save();
    options.logger.info(restored ? "end-to-end encryption state restored" : "end-to-end encryption set up for this device", {
      device: options.deviceId,
      identityKey: machine.identityKeys.curve25519.toBase64(),
    });
    return new OlmEngine(machine, persistence, options.api, options.logger);
  }

  health(): CryptoPersistenceHealth {
    return this.persistence.health();
  }

  /**
   * Runs `work` alone against the machine, then saves what it changed (before anything is
   * sent). For this adapter's own modules (cross-signing, key backup).
   */
  exclusive<T>(work: (machine: OlmMachine) => Promise<T>): Promise<T> {
    const run = this.lock.then(async () => {
      try {
        return await work(this.machine);
      } finally {
        await this.persistence.save();
      }
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** One /sync's to-device events, device lists and key counts, saved together. */
  async receiveSyncChanges(changes: SyncChanges): Promise<void> {
    await this.exclusive(async (machine) => {
      await machine.receiveSyncChanges(
        JSON.stringify(changes.toDevice),
        new DeviceLists(userIds(changes.changed), userIds(changes.left)),
        new Map(changes.oneTimeKeyCounts),
        changes.unusedFallbackKeys === undefined ? undefined : new Set(changes.unusedFallbackKeys),
        new DecryptionSettings(TrustRequirement.Untrusted),
      );
    });
  }

  /** Follows these users' devices (members of encrypted rooms); known ones are a no-op. */
  async trackUsers(users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    // The bindings take ownership of the array's ids: fresh ones on every call.
    await this.exclusive((machine) => machine.updateTrackedUsers(userIds(users)));
  }

  /**
   * Sends everything the machine has queued (keys upload and query, to-device, …) and marks it
   * sent; then the room keys not yet in the key backup, when there is one.
   */
  sendOutgoing(signal?: AbortSignal): Promise<void> {
    const run = this.draining.then(async () => {
      const requests = await this.exclusive((machine) => machine.outgoingRequests());
      for (const request of requests) await this.send(request, signal);
      await this.backUpRoomKeys(signal);
    });
    this.draining = run.catch(() => undefined);
    return run;
  }

  /**
   * The room keys not yet in the key backup, sent in batches. The backup never holds up the
   * relay: a backup replaced or deleted elsewhere turns backing up off (with a warning); any
   * other failure waits for the next /sync.
   */
  private async backUpRoomKeys(signal: AbortSignal | undefined): Promise<void> {
    try {
      for (;;) {
        const backup = await this.exclusive((machine) => machine.backupRoomKeys());
        if (backup === undefined) return;
        await this.send(backup, signal);
      }
    } catch (error) {
      if (error instanceof MatrixRequestError && (error.status === 404 || error.errcode === "M_WRONG_ROOM_KEYS_VERSION")) {
        await this.exclusive((machine) => machine.disableBackup());
        this.logger.warn("the account's key backup was deleted or replaced elsewhere: this device stops backing up its keys until serve starts again", { error: error.message });
        return;
      }
      this.logger.debug("room keys not backed up this time; tried again after the next /sync", { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The event to handle in place of an encrypted one; throws when it cannot be decrypted (yet). */
  async decrypt(room: string, raw: object): Promise<{ type: string; content: unknown }> {
    return this.exclusive((machine) => decryptEvent(machine, room, raw));
  }

  /**
   * Encrypts an event for `room`, whose members are `members`: their devices are looked up,
   * Olm sessions claimed where missing, and the room key shared (a no-op when nothing changed;
   * skipping it after a rotation would break the machine) before every encryption.
   */
  async encrypt(room: string, members: readonly string[], type: string, content: object, signal?: AbortSignal): Promise<object> {
    await this.trackUsers(members);
    // The devices of newly tracked users must be known before sessions are claimed for them.
    await this.sendOutgoing(signal);
    const claim = await this.exclusive((machine) => machine.getMissingSessions(userIds(members)));
    if (claim !== null) await this.send(claim, signal);
    const shares = await this.exclusive((machine) => {
      const settings = new EncryptionSettings();
      // Every device of every member, verified or not (see the README's trust choice).
      settings.sharingStrategy = CollectStrategy.allDevices();
      return machine.shareRoomKey(new RoomId(room), userIds(members), settings);
    });
    for (const share of shares) await this.send(share, signal);
    const encrypted = await this.exclusive((machine) => machine.encryptRoomEvent(new RoomId(room), type, JSON.stringify(content)));
    return JSON.parse(encrypted) as object;
  }

  close(): void {
    this.machine.close();
  }

  // --- requests ------------------------------------------------------------------------------

  /** Sends one of the machine's requests and tells it the answer. */
  async send(request: Outgoing, signal?: AbortSignal): Promise<void> {
    const response = await this.request(request, signal);
    if (request.id === undefined) return;
    const id = request.id;
    await this.exclusive((machine) => machine.markRequestAsSent(id, request.type, JSON.stringify(response)));
  }

  private async request(request: Outgoing, signal: AbortSignal | undefined): Promise<unknown> {
    const options = (body: string): { body: Record<string, unknown>; signal?: AbortSignal } => ({ body: JSON.parse(body) as Record<string, unknown>, ...(signal === undefined ? {} : { signal }) });
    if (request instanceof KeysUploadRequest) {
      try {
        return await this.api.request(Method.Post, "/keys/upload", options(request.body));
      } catch (error) {
        // The same upload already went through before a crash (its answer lost): the homeserver
        // has these keys. Done, with the counts as they stand.
        if (!(error instanceof MatrixRequestError && /already exists/i.test(error.message))) throw error;
        this.logger.warn("the homeserver already has the one-time keys of an upload whose answer was lost; counting it as done");
        return this.api.request(Method.Post, "/keys/upload", options("{}"));
      }
    }
    if (request instanceof KeysQueryRequest) return this.api.request(Method.Post, "/keys/query", options(request.body));
    if (request instanceof KeysClaimRequest) return this.api.request(Method.Post, "/keys/claim", options(request.body));
    if (request instanceof ToDeviceRequest) return this.api.request(Method.Put, path`/sendToDevice/${request.event_type}/${request.txn_id}`, options(request.body));
    if (request instanceof SignatureUploadRequest) return this.api.request(Method.Post, "/keys/signatures/upload", options(request.body));
    if (request instanceof RoomMessageRequest) {
      return this.api.request(Method.Put, path`/rooms/${request.room_id}/send/${request.event_type}/${request.txn_id}`, options(request.body));
    }
    if (request instanceof KeysBackupRequest) return this.api.request(Method.Put, "/room_keys/keys", { ...options(request.body), query: { version: request.version } });
    throw new Error(`an outgoing crypto request of an unknown type (${RequestType[(request as { type: RequestType }).type]})`);
  }
}

/** Fresh wasm user ids (the bindings take ownership of what they are given); invalid ones are left out. */
/** An encrypted room event's clear type and content, from any device sending (see the README's trust choice). */
export async function decryptEvent(machine: OlmMachine, room: string, raw: object): Promise<{ type: string; content: unknown }> {
  const decrypted = await machine.decryptRoomEvent(JSON.stringify(raw), new RoomId(room), new DecryptionSettings(TrustRequirement.Untrusted));
  const clear = JSON.parse(decrypted.event) as { type?: unknown; content?: unknown };
  if (typeof clear.type !== "string") throw new Error("the decrypted event has no type");
  return { type: clear.type, content: clear.content };
}

function userIds(users: readonly string[]): UserId[] {
  const ids: UserId[] = [];
  for (const user of users) {
    try {
      ids.push(new UserId(user));
    } catch {
      // not a user id the machine accepts: nothing to encrypt for
    }
  }
  return ids;
}
