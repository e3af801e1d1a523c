// Logging the bot in: password, shared secret (com.devture.shared_secret_auth) or access token,
// always on the same device, reusing the saved access token while the server accepts it.
import { createHmac } from "node:crypto";
import { HonoroitError } from "../../core/errors.ts";
import { localpartOf, parseUserId } from "../../core/ids.ts";
import type { UserId } from "../../core/ids.ts";
import type { KeyValueStore, Logger } from "../../core/ports.ts";
import { MatrixApi, MatrixRequestError, Method } from "./api.ts";
import { stringAt } from "./json.ts";
import { TokenSeal } from "./token-seal.ts";

/** Where the session lives in the KeyValueStore. */
export const MATRIX_NAMESPACE = "matrix";
const KEY_USER = "user_id";
const KEY_DEVICE = "device_id";
const KEY_TOKEN = "access_token";
const KEY_HOMESERVER = "homeserver";

const DEVICE_NAME = "Honoroit";

export interface LoginOptions {
  /** Base URL of the homeserver, e.g. `https://matrix.example.com`. */
  readonly homeserver: string;
  /** `HONOROIT_LOGIN`: a localpart or a full MXID (a full MXID with a shared secret). */
  readonly login: string;
  readonly password?: string;
  readonly sharedSecret?: string;
  /** An access token; the user and device are asked of the server. */
  readonly token?: string;
  /** Keeps the device id and access token across restarts (namespace "matrix"). */
  readonly kv: KeyValueStore;
  readonly logger: Logger;
  /** Stops retrying while the homeserver is unreachable. */
  readonly signal?: AbortSignal;
  /** The data secret: the saved access token is sealed with it (see TokenSeal). */
  readonly dataSecret?: string;
}

/** A logged-in session of the bot. */
export interface MatrixSession {
  readonly homeserver: string;
  readonly userId: UserId;
  readonly deviceId: string;
  readonly accessToken: string;
  /** How it was obtained: `saved` means the stored access token was still valid. */
  readonly method: "password" | "shared-secret" | "token" | "saved";
}

/**
 * The homeserver and access token of the last login (saved by serve, or by a command that
 * logged in), for work done apart from the connection (fetching media); undefined before the
 * first login, or when the token is sealed with another data secret.
 */
export async function savedSession(kv: KeyValueStore, dataSecret: string | undefined): Promise<{ homeserver: string; accessToken: string } | undefined> {
  const stored = await kv.get(MATRIX_NAMESPACE, KEY_TOKEN);
  const homeserver = await kv.get(MATRIX_NAMESPACE, KEY_HOMESERVER);
  if (stored === undefined || homeserver === undefined) return undefined;
  const accessToken = new TokenSeal(dataSecret).open(stored);
  return accessToken === undefined ? undefined : { homeserver, accessToken };
}

/** The `com.devture.shared_secret_auth` token: hex HMAC-SHA512 of the full MXID, keyed by the secret. */
export function sharedSecretToken(userId: string, secret: string): string {
  return createHmac("sha512", secret).update(userId).digest("hex");
}

/**
 * Logs in, retrying with backoff (1 s doubling to 60 s, a warn line each time) while the
 * homeserver is unreachable, until `signal` fires (then throws the signal's abort reason).
 * Refused credentials throw BAD_CONFIG.
 */
export function login(options: LoginOptions): Promise<MatrixSession> {
  return logIn(options, Infinity);
}

/** Logs in with a single attempt, for the CLI: an unreachable homeserver throws UNREACHABLE at once. */
export function loginOnce(options: LoginOptions): Promise<MatrixSession> {
  return logIn(options, 1);
}

async function logIn(options: LoginOptions, maxAttempts: number): Promise<MatrixSession> {
  const homeserver = options.homeserver.replace(/\/+$/, "");
  const { kv, logger } = options;
  const apiOptions = { logger, maxAttempts, ...(options.signal === undefined ? {} : { signal: options.signal }) };
  const seal = new TokenSeal(options.dataSecret);
  const storedToken = await kv.get(MATRIX_NAMESPACE, KEY_TOKEN);
  const saved = {
    user: await kv.get(MATRIX_NAMESPACE, KEY_USER),
    device: await kv.get(MATRIX_NAMESPACE, KEY_DEVICE),
    token: storedToken === undefined ? undefined : seal.open(storedToken),
    // Sessions saved before the homeserver was kept count as the configured one's.
    homeserver: (await kv.get(MATRIX_NAMESPACE, KEY_HOMESERVER)) ?? homeserver,
  };
  if (storedToken !== undefined && saved.token === undefined) {
    logger.warn("the saved Matrix access token is sealed with another data secret (or none is set now); logging in again");
  }

  const remember = async (session: MatrixSession): Promise<MatrixSession> => {
    await kv.set(MATRIX_NAMESPACE, KEY_HOMESERVER, homeserver);
    await kv.set(MATRIX_NAMESPACE, KEY_USER, session.userId);
    if (session.deviceId !== "") await kv.set(MATRIX_NAMESPACE, KEY_DEVICE, session.deviceId);
    await kv.set(MATRIX_NAMESPACE, KEY_TOKEN, seal.seal(session.accessToken));
    logger.info("logged in to Matrix", { user: session.userId, device: session.deviceId, method: session.method });
    return session;
  };

  if (options.token !== undefined && options.token !== "") {
    const who = await whoami(MatrixApi.create(homeserver, options.token, apiOptions), options.login, true);
    if (who === undefined) throw new HonoroitError("BAD_CONFIG", `the access token for ${options.login} was refused by ${homeserver}`);
    if (options.login !== "" && !isLogin(who.userId, options.login)) {
      throw new HonoroitError("BAD_CONFIG", `the access token belongs to ${who.userId}, not to ${options.login}`);
    }
    return remember({ homeserver, ...who, accessToken: options.token, method: "token" });
  }

  const secret = options.sharedSecret !== undefined && options.sharedSecret !== "" ? options.sharedSecret : undefined;
  const password = options.password !== undefined && options.password !== "" ? options.password : undefined;
  if (secret === undefined && password === undefined) {
    throw new HonoroitError("BAD_CONFIG", "no Matrix credentials: set a password, a shared secret or an access token");
  }
  if (secret !== undefined && !options.login.startsWith("@")) {
    throw new HonoroitError("BAD_CONFIG", `with a shared secret the login must be a full MXID (@name:server), not "${options.login}"`);
  }

  // The saved session is this login's only when the saved user is the configured one, on the
  // homeserver that issued it: the token is never sent to another server.
  const ours = saved.user !== undefined && isLogin(saved.user, options.login) && saved.homeserver === homeserver;
  if (saved.token !== undefined && saved.homeserver !== homeserver) {
    logger.info("the saved Matrix session was issued by another homeserver; logging in anew", { saved: saved.homeserver, configured: homeserver });
  }
  if (ours && saved.token !== undefined) {
    const who = await whoami(MatrixApi.create(homeserver, saved.token, apiOptions), options.login, false);
    if (who !== undefined && isLogin(who.userId, options.login)) {
      return remember({ homeserver, ...who, deviceId: who.deviceId !== "" ? who.deviceId : saved.device ?? "", accessToken: saved.token, method: "saved" });
    }
    logger.info("the saved Matrix access token is no longer valid, logging in again", { user: saved.user });
  }

  const body = {
    ...(secret === undefined
      ? { type: "m.login.password", identifier: { type: "m.id.user", user: options.login }, password }
      : { type: "com.devture.shared_secret_auth", identifier: { type: "m.id.user", user: options.login }, token: sharedSecretToken(options.login, secret) }),
    // The same device every time: Synapse scopes transaction ids (our idempotency) to it.
    ...(ours && saved.device !== undefined ? { device_id: saved.device } : {}),
    initial_device_display_name: DEVICE_NAME,
  };
  const api = MatrixApi.create(homeserver, undefined, apiOptions);
  let response;
  try {
    response = await api.requestObject(Method.Post, "/login", { body, unauthenticated: true });
  } catch (error) {
    if (error instanceof MatrixRequestError) {
      throw new HonoroitError("BAD_CONFIG", `login failed for ${options.login}: ${serverMessage(error)}`, { cause: error });
    }
    throw error;
  }
  const userId = parseUserId(stringAt(response, "user_id") ?? "");
  const accessToken = stringAt(response, "access_token");
  const deviceId = stringAt(response, "device_id") ?? "";
  if (accessToken === undefined) throw new Error(`${homeserver} answered the login without an access token`);
  return remember({ homeserver, userId, deviceId, accessToken, method: secret === undefined ? "password" : "shared-secret" });
}

/**
 * The token's user and device, or undefined when the server does not know the token (or, when
 * not `strict`, refuses the request in any other way).
 */
async function whoami(api: MatrixApi, login: string, strict: boolean): Promise<{ userId: UserId; deviceId: string } | undefined> {
  try {
    const response = await api.requestObject(Method.Get, "/account/whoami");
    return { userId: parseUserId(stringAt(response, "user_id") ?? ""), deviceId: stringAt(response, "device_id") ?? "" };
  } catch (error) {
    if (error instanceof MatrixRequestError) {
      if (!strict || error.errcode === "M_UNKNOWN_TOKEN" || error.status === 401) return undefined;
      throw new HonoroitError("BAD_CONFIG", `checking the access token of ${login} failed: ${serverMessage(error)}`, { cause: error });
    }
    throw error;
  }
}

/** Whether `user` is what HONOROIT_LOGIN names (a full MXID, or a localpart). */
function isLogin(user: string, login: string): boolean {
  if (login === "") return true;
  const wanted = login.toLowerCase();
  const actual = user.toLowerCase();
  if (wanted.startsWith("@")) return actual === wanted;
  try {
    return localpartOf(parseUserId(actual)) === wanted;
  } catch {
    return false;
  }
}

function serverMessage(error: MatrixRequestError): string {
  // Drop the "POST /login: " request prefix: the person needs the server's words.
  return error.message.replace(/^[A-Z]+ \S+: /, "");
}
