// The Matrix side of honoroit, assembled: log in, then a Messenger and a SyncPipeline sharing one
// API client. Imported lazily (`await import(...)`) by commands that talk to Matrix.
import type { RoomId, UserId } from "../../core/ids.ts";
import type { SyncState } from "../../core/ports.ts";
import { MatrixApi } from "./api.ts";
import { login, loginOnce, type LoginOptions } from "./login.ts";
import { MatrixMediaSource } from "./media.ts";
import { MatrixMessenger } from "./messenger.ts";
import { SyncPipeline } from "./sync-pipeline.ts";
import type { PipelineMetrics } from "../../core/ports.ts";
import type { Encryption, EncryptionOptions } from "../crypto/start-crypto.ts";

export interface ConnectMatrixOptions extends LoginOptions {
  /** Where the sync pipeline saves its position (the store's `sync`). */
  readonly syncState: SyncState;
  /**
   * true (default, for `serve`): retry login while the homeserver is unreachable, until the
   * signal fires. false (CLI): one attempt, an unreachable homeserver throws UNREACHABLE.
   */
  readonly retry?: boolean;
  /** Where the sync pipeline reports its queue and attempts. */
  readonly metrics?: PipelineMetrics;
  /** The operators room, whose threads the pipeline handles side by side. */
  readonly operatorsRoom?: RoomId;
  /** End-to-end encryption: its state's store and secret; none for plain rooms only. */
  readonly encryption?: EncryptionOptions;
}

/** A logged-in bot. */
export interface MatrixConnection {
  readonly userId: UserId;
  readonly deviceId: string;
  readonly messenger: MatrixMessenger;
  /** Not started: call `sync.run(handler, signal)`; `sync.health()` feeds `/_health`. */
  readonly sync: SyncPipeline;
  /** Raw client-server API, with the adapter's retry policy (for account data, imports, …). */
  readonly api: MatrixApi;
  /** End-to-end encryption, when enabled. */
  readonly encryption: Encryption | undefined;
  /** Aborts requests in flight and waits for a running sync loop to stop; stays logged in. */
  close(): Promise<void>;
}

/** Logs the bot in (see login.ts) and builds its Messenger and SyncPipeline. */
export async function connectMatrix(options: ConnectMatrixOptions): Promise<MatrixConnection> {
  const retry = options.retry ?? true;
  const session = await (retry ? login : loginOnce)(options);
  const controller = new AbortController();
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal]);
  const api = MatrixApi.create(session.homeserver, session.accessToken, {
    logger: options.logger,
    signal,
    ...(retry ? {} : { maxAttempts: 3 }),
  });
  // Files in encrypted rooms are decrypted for plain ones with the bot's own session.
  const media = new MatrixMediaSource({ session: () => Promise.resolve({ homeserver: session.homeserver, accessToken: session.accessToken }) });
  // Loaded only when enabled: the crypto machine is a sizeable WebAssembly module.
  const encryption = options.encryption === undefined
    ? undefined
    : await (await import("../crypto/start-crypto.ts")).startEncryption({ api, media, userId: session.userId, deviceId: session.deviceId, logger: options.logger }, options.encryption);
  const messenger = new MatrixMessenger(api, session.userId, options.logger, encryption?.seal);
  const sync = new SyncPipeline({
    api,
    botUser: session.userId,
    state: options.syncState,
    logger: options.logger,
    signal,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.operatorsRoom === undefined ? {} : { threadedRoom: options.operatorsRoom }),
    ...(encryption === undefined ? {} : { stage: encryption.stage }),
  });
  return {
    userId: session.userId,
    deviceId: session.deviceId,
    messenger,
    sync,
    api,
    encryption,
    async close() {
      controller.abort();
      await sync.stopped();
      await encryption?.close();
      await media.close();
    },
  };
}
