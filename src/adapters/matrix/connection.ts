// The Matrix side of honoroit, assembled: log in, then a Messenger and a SyncPipeline sharing one
// API client. Imported lazily (`await import(...)`) by commands that talk to Matrix.
import type { RoomId, UserId } from "../../core/ids.ts";
import type { SyncState } from "../../core/ports.ts";
import { MatrixApi } from "./api.ts";
import { login, loginOnce, type LoginOptions } from "./login.ts";
import { MatrixMessenger } from "./messenger.ts";
import { SyncPipeline } from "./sync-pipeline.ts";
import type { PipelineMetrics } from "../../core/ports.ts";

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
  const messenger = new MatrixMessenger(api, session.userId, options.logger);
  const sync = new SyncPipeline({
    api,
    botUser: session.userId,
    state: options.syncState,
    logger: options.logger,
    signal,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    ...(options.operatorsRoom === undefined ? {} : { threadedRoom: options.operatorsRoom }),
  });
  return {
    userId: session.userId,
    deviceId: session.deviceId,
    messenger,
    sync,
    api,
    async close() {
      controller.abort();
      await sync.stopped();
    },
  };
}
