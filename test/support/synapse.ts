// Helpers for integration tests against a real Synapse homeserver started by
// test/synapse/start.sh (which prints HONOROIT_TEST_HOMESERVER and
// HONOROIT_TEST_SYNAPSE_SECRET). A second instance started with --strict-ratelimit
// is expected under HONOROIT_TEST_STRICT_HOMESERVER / HONOROIT_TEST_STRICT_SYNAPSE_SECRET.
import { createHmac, randomBytes } from "node:crypto";
import type { TestContext } from "node:test";
import { ClientEvent, createClient, EventStatus, SyncState } from "matrix-js-sdk";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { Logger } from "matrix-js-sdk/lib/logger.js";

export interface SynapseEnv {
  /** Base URL of the homeserver, e.g. http://127.0.0.1:18008 */
  url: string;
  /** registration_shared_secret of that homeserver */
  secret: string;
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface LoginOptions {
  /** Log in on this device (re-using a device id, e.g. to test transaction-id dedup). */
  deviceId?: string;
  /** Passed to startClient; default 20. */
  initialSyncLimit?: number;
  /** Thread support in the client; default false so thread replies land in the main timeline. */
  threadSupport?: boolean;
  /** How long to wait for the first sync; default 30 s. */
  timeoutMs?: number;
  /** Runs before the client starts (e.g. to set up its end-to-end encryption). */
  beforeStart?: (client: MatrixClient) => Promise<void>;
}

const SETUP_HINT = "run test/synapse/setup.sh && test/synapse/start.sh";
const STRICT_SETUP_HINT =
  "run test/synapse/start.sh --port 18009 --strict-ratelimit and export its two values as HONOROIT_TEST_STRICT_HOMESERVER / HONOROIT_TEST_STRICT_SYNAPSE_SECRET";

export interface SynapseChoice {
  /** The instance with a low message rate limit (start.sh --strict-ratelimit) instead of the normal one. */
  strict?: boolean;
}

function envNames(opts: SynapseChoice): { url: string; secret: string } {
  return opts.strict === true
    ? { url: "HONOROIT_TEST_STRICT_HOMESERVER", secret: "HONOROIT_TEST_STRICT_SYNAPSE_SECRET" }
    : { url: "HONOROIT_TEST_HOMESERVER", secret: "HONOROIT_TEST_SYNAPSE_SECRET" };
}

/** The homeserver started by test/synapse/start.sh, if its env vars are set. */
export function synapseFromEnv(opts: SynapseChoice = {}): SynapseEnv | undefined {
  const names = envNames(opts);
  const url = process.env[names.url]?.trim();
  const secret = process.env[names.secret]?.trim();
  if (url === undefined || url === "" || secret === undefined || secret === "") return undefined;
  return { url: url.replace(/\/+$/, ""), secret };
}

/**
 * The Synapse to test against, or undefined after marking the test skipped.
 * In CI (CI=true) a missing Synapse is an error, not a skip.
 */
export function skipUnlessSynapse(t: TestContext, opts: SynapseChoice = {}): SynapseEnv | undefined {
  const hs = synapseFromEnv(opts);
  if (hs !== undefined) return hs;
  const names = envNames(opts);
  const hint = opts.strict === true ? STRICT_SETUP_HINT : SETUP_HINT;
  if (process.env.CI === "true") {
    throw new Error(`CI=true but ${names.url} / ${names.secret} are not set: ${hint}`);
  }
  t.skip(`no ${opts.strict === true ? "rate-limited " : ""}Synapse: ${hint}`);
  return undefined;
}

/**
 * Exempts `userId` from Synapse's message rate limit (rc_message, which also counts room
 * creation, joins and profile changes) through the admin API; `adminToken` is an admin's.
 */
export async function exemptFromRateLimit(hs: SynapseEnv, adminToken: string, userId: string): Promise<void> {
  const res = await fetch(`${hs.url}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/override_ratelimit`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ messages_per_second: 0, burst_count: 0 }),
  });
  await readJson(res, `exempt ${userId} from rate limiting`);
}

/**
 * How many forward extremities (events no other event points to yet) the room has, through
 * Synapse's admin API; `adminToken` is an admin's. Each new event is built on at most 10 of
 * them, so a room that holds more has forks that later events do not join.
 */
export async function forwardExtremities(hs: SynapseEnv, adminToken: string, room: string): Promise<number> {
  const res = await fetch(`${hs.url}/_synapse/admin/v1/rooms/${encodeURIComponent(room)}/forward_extremities`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  const body = await readJson(res, `the forward extremities of ${room}`);
  const count = body["count"];
  if (typeof count !== "number") throw new Error(`the forward extremities of ${room}: no count in ${JSON.stringify(body).slice(0, 200)}`);
  return count;
}

let uniqueCounter = 0;

/** A localpart that is unique per call and per process, e.g. "alice-lx3k9a-1-4f2c". */
export function uniqueName(prefix: string): string {
  uniqueCounter += 1;
  const clean = prefix.toLowerCase().replace(/[^a-z0-9._=-]/g, "_") || "user";
  return `${clean}-${Date.now().toString(36)}-${uniqueCounter}-${randomBytes(2).toString("hex")}`;
}

async function readJson(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!res.ok) {
    throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 500)}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error("not a JSON object");
    }
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${what}: unexpected response ${text.slice(0, 500)}`, { cause: err });
  }
}

function stringField(obj: Record<string, unknown>, key: string, what: string): string {
  const value = obj[key];
  if (typeof value !== "string") throw new Error(`${what}: response has no string "${key}"`);
  return value;
}

/** Register a user through Synapse's shared-secret admin API. */
export async function registerUser(
  hs: SynapseEnv,
  localpart: string,
  password: string,
  opts: { admin?: boolean } = {},
): Promise<RegisteredUser> {
  const endpoint = `${hs.url}/_synapse/admin/v1/register`;
  const what = `register ${localpart}`;
  const nonceBody = await readJson(await fetch(endpoint), `${what} (nonce)`);
  const nonce = stringField(nonceBody, "nonce", `${what} (nonce)`);
  const admin = opts.admin === true;
  const mac = createHmac("sha1", hs.secret)
    .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
    .digest("hex");
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
  });
  const body = await readJson(res, what);
  return {
    userId: stringField(body, "user_id", what),
    accessToken: stringField(body, "access_token", what),
    deviceId: stringField(body, "device_id", what),
  };
}

/** Password login over the client-server API, without creating a client. */
export async function loginUser(
  hs: SynapseEnv,
  localpart: string,
  password: string,
  opts: { deviceId?: string } = {},
): Promise<RegisteredUser> {
  const what = `login ${localpart}`;
  const res = await fetch(`${hs.url}/_matrix/client/v3/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: localpart },
      password,
      ...(opts.deviceId === undefined ? {} : { device_id: opts.deviceId }),
    }),
  });
  const body = await readJson(res, what);
  return {
    userId: stringField(body, "user_id", what),
    accessToken: stringField(body, "access_token", what),
    deviceId: stringField(body, "device_id", what),
  };
}

// matrix-js-sdk logs a great deal, even at warn level (e.g. "Adding default
// global push rule" for every new account). Tests get its errors only, unless
// HONOROIT_TEST_MATRIX_LOG is "warn", "info" or "debug".
const LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
type Level = (typeof LEVELS)[number];
const requestedLevel = process.env.HONOROIT_TEST_MATRIX_LOG?.toLowerCase();
const sdkLogLevel: Level = LEVELS.find((l) => l === requestedLevel) ?? "error";
const logs = (level: string): boolean => {
  const i = LEVELS.findIndex((l) => l === level);
  return i === -1 || i >= LEVELS.indexOf(sdkLogLevel);
};
const noop = (): void => undefined;

/**
 * A logger for createClient({ logger }) that honours HONOROIT_TEST_MATRIX_LOG
 * (default: errors only), for tests that build their own MatrixClient.
 */
export function makeQuietLogger(prefix: string): Logger {
  const tag = `[matrix ${prefix}]`;
  const method =
    (level: Level, sink: (...msg: unknown[]) => void) =>
    (...msg: unknown[]): void => {
      if (logs(level)) sink(tag, ...msg);
    };
  return {
    trace: method("trace", console.debug),
    debug: method("debug", console.debug),
    info: method("info", console.info),
    warn: method("warn", console.warn),
    error: method("error", console.error),
    getChild: (namespace: string) => makeQuietLogger(prefix + namespace),
  };
}

interface LoglevelLike {
  methodFactory?: (methodName: string, level: number, loggerName: string | symbol) => (...msg: unknown[]) => void;
  rebuild?: () => void;
}

/**
 * The SDK's module-level logger (a loglevel logger) is used by code that does
 * not get the client's logger. Its children copy its methodFactory, so
 * filtering there quiets them too. Done once, when this module is loaded.
 */
function quietSdkLogger(): void {
  // The deprecated global logger is exactly what needs quieting here.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const ll = sdkLogger as unknown as LoglevelLike;
  const original = ll.methodFactory;
  if (original === undefined) return;
  ll.methodFactory = (methodName, level, loggerName) =>
    logs(methodName) ? original(methodName, level, loggerName) : noop;
  ll.rebuild?.();
}
quietSdkLogger();

type RequestOtherUrlArgs = Parameters<MatrixClient["http"]["requestOtherUrl"]>;

/**
 * matrix-js-sdk arms a plain setTimeout for every request with a local timeout
 * (the /sync long-poll: 30 s + 80 s) and never clears it, so a stopped client
 * keeps Node alive for up to 110 s. Route those timeouts through
 * AbortSignal.timeout instead, whose timer does not hold the event loop.
 */
export function releaseRequestTimers(client: MatrixClient): void {
  const http = client.http;
  const original = http.requestOtherUrl.bind(http);
  http.requestOtherUrl = <T>(...[method, url, body, opts]: RequestOtherUrlArgs): Promise<T> => {
    if (opts?.localTimeoutMs === undefined) return original<T>(method, url, body, opts);
    const { localTimeoutMs, ...rest } = opts;
    const timeout = AbortSignal.timeout(localTimeoutMs);
    const abortSignal = rest.abortSignal === undefined ? timeout : AbortSignal.any([rest.abortSignal, timeout]);
    return original<T>(method, url, body, { ...rest, abortSignal });
  };
}

/**
 * Log in (password) and return a started matrix-js-sdk client that has
 * completed its first sync (state PREPARED or SYNCING).
 */
export async function loginClient(
  hs: SynapseEnv,
  localpart: string,
  password: string,
  opts: LoginOptions = {},
): Promise<MatrixClient> {
  const creds = await loginUser(hs, localpart, password, opts.deviceId === undefined ? {} : { deviceId: opts.deviceId });
  const client = createClient({
    baseUrl: hs.url,
    userId: creds.userId,
    accessToken: creds.accessToken,
    deviceId: creds.deviceId,
    timelineSupport: true,
    logger: makeQuietLogger(creds.userId),
  });
  releaseRequestTimers(client);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.removeListener(ClientEvent.Sync, onSync);
      reject(new Error(`${creds.userId}: first sync not done within ${timeoutMs} ms`));
    }, timeoutMs);
    function onSync(state: SyncState): void {
      if (state === SyncState.Prepared || state === SyncState.Syncing) {
        clearTimeout(timer);
        client.removeListener(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        clearTimeout(timer);
        client.removeListener(ClientEvent.Sync, onSync);
        reject(new Error(`${creds.userId}: sync failed: ${String(client.getSyncStateData()?.error ?? "unknown error")}`));
      }
    }
    client.on(ClientEvent.Sync, onSync);
  });
  try {
    await opts.beforeStart?.(client);
    await client.startClient({
      initialSyncLimit: opts.initialSyncLimit ?? 20,
      threadSupport: opts.threadSupport ?? false,
    });
    await ready;
  } catch (err) {
    stopClient(client);
    throw err;
  }
  return client;
}

/** Stop a client from loginClient (idempotent; leaves the access token valid). */
export function stopClient(client: MatrixClient | undefined): void {
  if (client === undefined) return;
  client.stopClient();
  client.removeAllListeners();
}

/**
 * Poll fn until it returns something other than undefined. Rejects naming
 * `what` after timeoutMs (default 10 s). Errors thrown by fn propagate.
 */
export async function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  opts: { what: string; timeoutMs?: number; intervalMs?: number },
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

function isRemoteEcho(ev: MatrixEvent): boolean {
  // Local echoes (our own pending sends) carry a status; synced events have none.
  return ev.status === null || ev.status === EventStatus.SENT;
}

function knownEvents(client: MatrixClient, roomId: string): MatrixEvent[] {
  const room = client.getRoom(roomId);
  if (room === null) return [];
  const events = [...room.getLiveTimeline().getEvents()];
  for (const thread of room.getThreads()) {
    events.push(...thread.liveTimeline.getEvents());
  }
  return events;
}

/**
 * Resolve with the first event in roomId matching predicate: either already in
 * the client's timelines (main and threads) or arriving later through sync.
 */
export function waitForEvent(
  client: MatrixClient,
  roomId: string,
  predicate: (ev: MatrixEvent) => boolean,
  timeoutMs = 10_000,
): Promise<MatrixEvent> {
  return new Promise<MatrixEvent>((resolve, reject) => {
    const matches = (ev: MatrixEvent): boolean =>
      ev.getRoomId() === roomId && isRemoteEcho(ev) && predicate(ev);
    const done = (): void => {
      clearTimeout(timer);
      client.removeListener(ClientEvent.Event, onEvent);
    };
    const onEvent = (ev: MatrixEvent): void => {
      if (matches(ev)) {
        done();
        resolve(ev);
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for a matching event in ${roomId} (${client.getUserId() ?? "?"})`));
    }, timeoutMs);
    client.on(ClientEvent.Event, onEvent);
    const existing = knownEvents(client, roomId).find(matches);
    if (existing !== undefined) {
      done();
      resolve(existing);
    }
  });
}
