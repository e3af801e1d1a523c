// Client-server API requests through matrix-js-sdk's HTTP client, with the retry policy the
// whole adapter shares: obey 429, back off while the homeserver is unreachable, fail on 4xx.
// Only the SDK's http-api module is loaded, not its client: the package's entry point takes
// about 0.5 s to import, its HTTP layer under 0.1 s, and serve's start waits for it.
import { EventEmitter } from "node:events";
import { ClientPrefix, ConnectionError, HTTPError, MatrixError, MatrixHttpApi, Method, safeGetRetryAfterMs } from "matrix-js-sdk/lib/http-api/index.js";
import type { IHttpOpts, IRequestOpts } from "matrix-js-sdk/lib/http-api/index.js";
import type { Logger as SdkLogger } from "matrix-js-sdk/lib/logger.js";
import { HonoroitError, RefusedError } from "../../core/errors.ts";
import { backoff, sleep } from "../../core/timing.ts";
import type { Logger } from "../../core/ports.ts";
import { isObject } from "./json.ts";
import type { JsonObject } from "./json.ts";

export { Method };

/** Query parameters; undefined values are left out. */
export type Query = Readonly<Record<string, string | undefined>>;

/** The part of matrix-js-sdk's HTTP client we use. */
export type MatrixHttp = Pick<MatrixHttpApi<IHttpOpts & { onlyData: true }>, "authedRequest" | "request">;

/** A request the homeserver refused (4xx other than 429): retrying would not help. */
export class MatrixRequestError extends RefusedError {
  constructor(message: string, errcode: string | undefined, status: number | undefined, options?: { cause?: unknown; room?: string | undefined; notInRoom?: boolean }) {
    super(message, { errcode, status, room: options?.room, notInRoom: options?.notInRoom ?? false }, options);
    this.name = "MatrixRequestError";
  }
}

/** What a failed request means for whoever retries it. */
export type Failure =
  | { readonly kind: "aborted" }
  | { readonly kind: "rate-limited"; readonly retryAfterMs: number | undefined; readonly message: string }
  | { readonly kind: "unreachable"; readonly message: string }
  | { readonly kind: "rejected"; readonly errcode: string | undefined; readonly status: number | undefined; readonly message: string };

/** Sorts an error thrown by matrix-js-sdk's HTTP client into what to do about it. */
export function classifyFailure(error: unknown, signal?: AbortSignal): Failure {
  if (signal?.aborted === true || (error instanceof Error && error.name === "AbortError")) return { kind: "aborted" };
  if (error instanceof HTTPError) {
    const status = error.httpStatus;
    const errcode = error instanceof MatrixError ? error.errcode : undefined;
    const text = error instanceof MatrixError && typeof error.data.error === "string" ? error.data.error : error.message;
    const message = `${errcode ?? `HTTP ${status ?? "?"}`}: ${text}`;
    if (status === 429 || errcode === "M_LIMIT_EXCEEDED") {
      const ms = safeGetRetryAfterMs(error, -1);
      return { kind: "rate-limited", retryAfterMs: ms >= 0 ? ms : undefined, message };
    }
    if (status === undefined || status >= 500) return { kind: "unreachable", message };
    return { kind: "rejected", errcode, status, message };
  }
  if (error instanceof ConnectionError) return { kind: "unreachable", message: describeConnectionError(error) };
  // A response that is not JSON (a proxy's HTML error page, a truncated body).
  if (error instanceof SyntaxError) return { kind: "unreachable", message: `unreadable response: ${error.message}` };
  return { kind: "rejected", errcode: undefined, status: undefined, message: error instanceof Error ? error.message : String(error) };
}

function describeConnectionError(error: ConnectionError): string {
  // The interesting part (ECONNREFUSED, ENOTFOUND, …) is in the cause chain of fetch's TypeError.
  let cause: unknown = error.cause;
  let detail = error.message;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth++) {
    const code = (cause as Error & { code?: unknown }).code;
    detail = typeof code === "string" ? `${cause.message} (${code})` : cause.message;
    cause = cause.cause;
  }
  return detail;
}

/** Backoff before retry number `attempt` (0-based): 1 s, doubling, at most 60 s. */
export function backoffMs(attempt: number): number {
  return backoff(attempt, 1000, 60_000);
}

export { sleep };

/** Builds a path with each interpolated value URI-encoded: path`/rooms/${room}/join`. */
export function path(strings: TemplateStringsArray, ...values: readonly string[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i] ?? "") : ""), "");
}

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: JsonObject;
  /** Send without the access token (login). */
  readonly unauthenticated?: boolean;
  /** Gives up on this request (in addition to the API's own signal). */
  readonly signal?: AbortSignal;
  /** Client-side timeout of one attempt. */
  readonly timeoutMs?: number;
  /** Overrides the API's `maxAttempts` for this request. */
  readonly maxAttempts?: number;
  /** The room the request is about, named in a refusal (the core treats refusals by room). */
  readonly room?: string;
  /** The API version's path prefix when it is not v3 (`/_matrix/client/v1` for relations). */
  readonly prefix?: string;
}

export interface MatrixApiOptions {
  /** Base URL of the homeserver, used in messages. */
  readonly homeserver: string;
  readonly logger: Logger;
  /** Aborts every request (the connection is closing). */
  readonly signal?: AbortSignal;
  /**
   * Attempts made while the homeserver is unreachable (network error, timeout, 5xx) before
   * giving up with an UNREACHABLE error; Infinity retries until aborted. Default 10 (~4 min).
   * Rate limiting (429) is always waited out and not counted.
   */
  readonly maxAttempts?: number;
}

/** One attempt of a request gets this long by default (a /sync long-poll sets its own). */
const DEFAULT_TIMEOUT_MS = 60_000;

/** JSON requests to one homeserver, retried by the adapter's policy. */
export class MatrixApi {
  constructor(
    private readonly http: MatrixHttp,
    private readonly options: MatrixApiOptions,
  ) {}

  /** An API for `homeserver` using the access token, if any. */
  static create(homeserver: string, accessToken: string | undefined, options: Omit<MatrixApiOptions, "homeserver">): MatrixApi {
    // The SDK's HTTP layer announces a logged-out session on this emitter; the adapter sees
    // the same refusal as an M_UNKNOWN_TOKEN error and reports it itself, so nobody listens.
    const events = new EventEmitter() as unknown as ConstructorParameters<typeof MatrixHttpApi>[0];
    const http = new MatrixHttpApi(events, {
      baseUrl: homeserver,
      prefix: ClientPrefix.V3,
      onlyData: true,
      logger: sdkLogger(options.logger),
      ...(accessToken === undefined ? {} : { accessToken }),
    });
    return new MatrixApi(http, { ...options, homeserver });
  }

  get homeserver(): string {
    return this.options.homeserver;
  }

  /**
   * Sends a request, waiting out rate limits and retrying with backoff while the homeserver is
   * unreachable. Throws MatrixRequestError when the server refuses it, HonoroitError
   * UNREACHABLE when the attempts run out, and the abort reason when aborted.
   */
  async request(method: Method, urlPath: string, options: RequestOptions = {}): Promise<unknown> {
    const linked = linkSignals([this.options.signal, options.signal]);
    try {
      return await this.requestWith(method, urlPath, options, linked.signal);
    } finally {
      linked.release();
    }
  }

  private async requestWith(method: Method, urlPath: string, options: RequestOptions, signal: AbortSignal | undefined): Promise<unknown> {
    const maxAttempts = options.maxAttempts ?? this.options.maxAttempts ?? 10;
    let failures = 0;
    for (;;) {
      try {
        return await this.once(method, urlPath, options, signal);
      } catch (error) {
        const failure = classifyFailure(error, signal);
        switch (failure.kind) {
          case "aborted":
            throw signal?.aborted === true ? abortError(signal) : error;
          case "rejected":
            throw new MatrixRequestError(`${method} ${urlPath}: ${failure.message}`, failure.errcode, failure.status, { cause: error, room: options.room });
          case "rate-limited": {
            const wait = failure.retryAfterMs ?? backoffMs(failures);
            this.options.logger.warn(`homeserver rate limit, retrying in ${seconds(wait)}s`, { request: `${method} ${urlPath}` });
            await sleep(wait, signal);
            break;
          }
          case "unreachable": {
            failures += 1;
            if (failures >= maxAttempts) {
              throw new HonoroitError("UNREACHABLE", `homeserver ${this.options.homeserver} unreachable: ${failure.message}`, { cause: error });
            }
            const wait = backoffMs(failures - 1);
            this.options.logger.warn(`homeserver unreachable, retrying in ${seconds(wait)}s`, {
              request: `${method} ${urlPath}`,
              error: failure.message,
            });
            await sleep(wait, signal);
            break;
          }
        }
        if (signal?.aborted === true) throw abortError(signal);
      }
    }
  }

  /** A single attempt; errors are matrix-js-sdk's, for callers with their own retry policy. */
  async once(method: Method, urlPath: string, options: RequestOptions = {}, signal?: AbortSignal): Promise<unknown> {
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query[k] = v;
    // Our own timeout rather than the SDK's localTimeoutMs, whose timer is never cleared and
    // would keep the process alive.
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const parents = signal === undefined ? [this.options.signal, options.signal] : [signal];
    const attempt = linkSignals(parents, timeoutMs);
    // A cast: the SDK types `priority` as Pick<RequestInit, …>, which Node's RequestInit lacks.
    const opts = { abortSignal: attempt.signal, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) } as IRequestOpts;
    try {
      return options.unauthenticated === true
        ? await this.http.request(method, urlPath, query, options.body, opts)
        : await this.http.authedRequest<unknown>(method, urlPath, query, options.body, opts);
    } catch (error) {
      if (attempt.timedOut()) throw new ConnectionError(`no answer within ${seconds(timeoutMs)}s`);
      throw error;
    } finally {
      attempt.release();
    }
  }

  /** Like request, for endpoints that answer a JSON object. */
  async requestObject(method: Method, urlPath: string, options: RequestOptions = {}): Promise<JsonObject> {
    const response = await this.request(method, urlPath, options);
    if (!isObject(response)) throw new Error(`${method} ${urlPath}: the homeserver answered something other than a JSON object`);
    return response;
  }

}

/**
 * One signal that aborts when any parent does (or after `timeoutMs`), released after use.
 * Not AbortSignal.any/timeout: each of those leaves a weak reference on the long-lived
 * parent for every request, and serve's memory grew with every relayed message.
 */
export function linkSignals(parents: readonly (AbortSignal | undefined)[], timeoutMs?: number): { signal: AbortSignal | undefined; timedOut(): boolean; release(): void } {
  const live = parents.filter((s): s is AbortSignal => s !== undefined);
  if (timeoutMs === undefined && live.length <= 1) return { signal: live[0], timedOut: () => false, release: () => undefined };
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = (event: Event): void => {
    controller.abort((event.target as AbortSignal).reason);
  };
  for (const parent of live) {
    if (parent.aborted) controller.abort(parent.reason);
    else parent.addEventListener("abort", onAbort, { once: true });
  }
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
  }, timeoutMs);
  timer?.unref();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release() {
      if (timer !== undefined) clearTimeout(timer);
      for (const parent of live) parent.removeEventListener("abort", onAbort);
    },
  };
}

/**
 * The SDK's own log lines, demoted to debug: what matters (a refused token, an unreachable
 * server) this adapter reports itself, in its own words. Its chatter is dropped.
 */
function sdkLogger(logger: Logger): SdkLogger {
  const drop = (): void => undefined;
  const keep = (...msg: unknown[]): void => logger.debug(`matrix-js-sdk: ${msg.map((m) => (m instanceof Error ? m.message : String(m))).join(" ")}`);
  const sdk: SdkLogger = { trace: drop, debug: drop, info: drop, warn: keep, error: keep, getChild: () => sdk };
  return sdk;
}

function seconds(ms: number): string {
  return (Math.round(ms / 100) / 10).toString();
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("aborted", "AbortError");
}
