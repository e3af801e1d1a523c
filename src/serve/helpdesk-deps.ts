// The helpdesk's dependencies, assembled the same way for serve and for a CLI command that
// acts on Matrix itself (when no serve runs).
import type { MatrixLogin } from "../config/load.ts";
import type { HonoroitConfig } from "../config/schema.ts";
import { ProfileCache, type HelpdeskDeps } from "../core/deps.ts";
import type { RoomId } from "../core/ids.ts";
import { KeyedQueue } from "../core/keyed-queue.ts";
import type { Clock, EventInbox, Logger, Messenger, Metrics, Store } from "../core/ports.ts";
import type { RuntimeOptions } from "../core/runtime-options.ts";
import { TRACKER_SUBSCRIBER } from "../core/usecases/tracker-sync.ts";
import type { UndecryptableMetrics } from "../adapters/crypto/crypto-stage.ts";
import { keepRecoveryKey } from "../adapters/crypto/recovery-key.ts";
import type { EncryptionOptions } from "../adapters/crypto/start-crypto.ts";
import type { MatrixConnection } from "../adapters/matrix/connection.ts";

export interface DepsParts {
  readonly config: HonoroitConfig;
  readonly operatorsRoom: RoomId;
  readonly store: Store;
  readonly messenger: Messenger;
  readonly options: RuntimeOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Where events wait (serve's pipeline); none when nothing is received (the CLI). */
  readonly inbox?: EventInbox;
}

const NOTHING_PENDING: EventInbox = { settled: () => Promise.resolve() };

export function helpdeskDeps(parts: DepsParts): HelpdeskDeps {
  return {
    store: parts.store,
    messenger: parts.messenger,
    options: parts.options,
    clock: parts.clock,
    logger: parts.logger,
    metrics: parts.metrics,
    operatorsRoom: parts.operatorsRoom,
    prefix: parts.config.prefix,
    encryptionWarning: !parts.config.noEncryptionWarning,
    profiles: new ProfileCache(parts.messenger, parts.config.cacheSize),
    rooms: new KeyedQueue(),
    inbox: parts.inbox ?? NOTHING_PENDING,
    // With Redmine configured, every ticket event is queued for it, whoever causes it (serve
    // or a command such as `tickets close`); serve's scheduler writes it to Redmine.
    subscribers: parts.config.redmine.host === null ? [] : [TRACKER_SUBSCRIBER],
  };
}

/** The configured Matrix login as the adapter's login options (credentials and data secret). */
export function loginCredentials(matrix: MatrixLogin, config: HonoroitConfig): { homeserver: string; login: string; password?: string; sharedSecret?: string; token?: string; dataSecret?: string } {
  const { auth } = matrix;
  return {
    homeserver: matrix.homeserver,
    login: matrix.login ?? "",
    ...(auth.method === "password" ? { password: auth.password } : {}),
    ...(auth.method === "sharedSecret" ? { sharedSecret: auth.sharedSecret } : {}),
    ...(auth.method === "token" ? { token: auth.token } : {}),
    ...(config.dataSecret === null ? {} : { dataSecret: config.dataSecret }),
  };
}

/**
 * End-to-end encryption for the bot's device: serve's, or a command's that acts as the bot
 * under serve's lock (it must encrypt what it sends into encrypted rooms, with the same keys;
 * serve alone sets up cross-signing and the key backup).
 */
export function encryptionOptions(config: HonoroitConfig, store: Store, by: { readonly metrics?: UndecryptableMetrics; readonly command?: boolean } = {}): EncryptionOptions {
  const secret = config.dataSecret ?? undefined;
  return {
    store: store.crypto,
    secret,
    ...(by.metrics === undefined ? {} : { metrics: by.metrics }),
    recoveryKey: config.recoveryKey ?? undefined,
    keepRecoveryKey: (key) => keepRecoveryKey(store.kv, secret, key),
    setUpAccountKeys: by.command !== true,
  };
}

/**
 * Logs in as serve's device for a command that acts as the bot while holding serve's lock
 * (no sync, no retries): with serve's encryption keys, so what it sends into encrypted rooms
 * is encrypted.
 */
export async function connectAsBot(config: HonoroitConfig, matrix: MatrixLogin, store: Store, logger: Logger): Promise<MatrixConnection> {
  const { connectMatrix } = await import("../adapters/matrix/connection.ts");
  return connectMatrix({
    ...loginCredentials(matrix, config),
    kv: store.kv,
    syncState: store.sync,
    logger,
    retry: false,
    ...(config.noEncryption ? {} : { encryption: encryptionOptions(config, store, { command: true }) }),
  });
}
