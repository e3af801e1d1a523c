// End-to-end encryption for a logged-in bot, assembled: the engine (state restored from our
// database), the sync stage that feeds and decrypts, and the seal that encrypts what is sent.
import type { Logger } from "../../core/ports.ts";
import type { CryptoStateStore } from "../../core/ports/storage.ts";
import type { MatrixApi } from "../matrix/api.ts";
import type { OutgoingSeal } from "../matrix/messenger.ts";
import type { SyncStage } from "../matrix/sync-pipeline.ts";
import { CryptoStage } from "./crypto-stage.ts";
import type { UndecryptableMetrics } from "./crypto-stage.ts";
import type { CryptoPersistenceHealth } from "./crypto-persistence.ts";
import { AccountKeys } from "./account-keys.ts";
import { EncryptedRooms } from "./encrypted-rooms.ts";
import { MediaCarrier } from "./media-carrier.ts";
import type { MediaRepository } from "./media-carrier.ts";
import { OlmEngine } from "./olm-engine.ts";
import { RoomEncryptor } from "./room-encryptor.ts";

export interface EncryptionOptions {
  /** Where the crypto state is kept (the store's `crypto`). */
  readonly store: CryptoStateStore;
  /** Seals the state at rest (the data secret). */
  readonly secret: string | undefined;
  readonly metrics?: UndecryptableMetrics;
  /** How long an event waits for its key before it counts as undecryptable. */
  readonly graceMs?: number;
  /** Restores the key backup on a device that has no key for it (a lost database). */
  readonly recoveryKey?: string | undefined;
  /** Keeps the recovery key where `honoroit crypto recovery-key` finds it. */
  readonly keepRecoveryKey?: (key: string) => Promise<void>;
  /** Sets up cross-signing and the key backup (serve); a command acting as the bot skips it. */
  readonly setUpAccountKeys?: boolean;
}

export interface Encryption {
  readonly stage: SyncStage;
  readonly seal: OutgoingSeal;
  health(): CryptoPersistenceHealth;
  /** Waits for the start-up work in the background (cross-signing, key backup), then closes. */
  close(): Promise<void>;
}

/** The bot's device and what encryption reaches the homeserver with. */
export interface EncryptionContext {
  readonly api: MatrixApi;
  readonly media: MediaRepository;
  readonly userId: string;
  readonly deviceId: string;
  readonly logger: Logger;
}

export async function startEncryption({ api, media, userId, deviceId, logger }: EncryptionContext, options: EncryptionOptions): Promise<Encryption> {
  const engine = await OlmEngine.start({ api, store: options.store, secret: options.secret, userId, deviceId, logger });
  const rooms = new EncryptedRooms(api);
  const stage = new CryptoStage({
    engine,
    rooms,
    logger,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
  });
  // In the background: serve relays meanwhile (the engine runs one machine call at a time).
  const account = new AccountKeys(engine, api, userId, logger, options.keepRecoveryKey);
  const setUp = options.setUpAccountKeys === false ? Promise.resolve([]) : account.setUp({ recoveryKey: options.recoveryKey });
  return {
    stage,
    seal: new RoomEncryptor(engine, rooms, new MediaCarrier(rooms, media, logger)),
    health: () => engine.health(),
    async close() {
      await setUp;
      engine.close();
    },
  };
}
