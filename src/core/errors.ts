/**
 * Stable error codes. Each maps to a process exit code for the CLI; chat shows the message.
 * A code in this table means "the person can fix this"; anything else is an internal error.
 */
export const ERROR_CODES = {
  BAD_ARGUMENT: { exit: 2, summary: "bad argument" },
  BAD_CONFIG: { exit: 2, summary: "configuration error" },
  NOT_AVAILABLE: { exit: 2, summary: "not available yet" },
  NOT_FOUND: { exit: 3, summary: "not found" },
  CONFLICT: { exit: 2, summary: "conflict" },
  BAD_DATA: { exit: 2, summary: "unreadable data" },
  UNREACHABLE: { exit: 4, summary: "service unreachable" },
  BUSY: { exit: 4, summary: "service busy" },
  NOT_READY: { exit: 4, summary: "not ready" },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for the person who caused it, with a stable code. */
export class HonoroitError extends Error {
  readonly code: ErrorCode;
  /** Extra lines shown under the message (e.g. every config problem). */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, options?: { details?: readonly string[]; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HonoroitError";
    this.code = code;
    this.details = options?.details ?? [];
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/**
 * A service refused a request for reasons of its own (a Matrix 4xx other than a rate limit):
 * final for whatever caused it, unless the core knows the refusal is about its own state
 * (a `forbidden` answer for the operators room means the bot is not in it yet).
 */
export class RefusedError extends Error {
  /** The service's error code, e.g. `M_FORBIDDEN`. */
  readonly errcode: string | undefined;
  readonly status: number | undefined;
  /** The room the request was about, when it was about one. */
  readonly room: string | undefined;
  /** Refused because the bot is not in `room` (checked by whoever made the request). */
  readonly notInRoom: boolean;

  constructor(
    message: string,
    details: { errcode?: string | undefined; status?: number | undefined; room?: string | undefined; notInRoom?: boolean },
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RefusedError";
    this.errcode = details.errcode;
    this.status = details.status;
    this.room = details.room;
    this.notInRoom = details.notInRoom ?? false;
  }

  /** Not allowed: not in the room, no permission. */
  get forbidden(): boolean {
    return this.status === 403 || this.errcode === "M_FORBIDDEN";
  }
}

/**
 * Refusals that are about the bot's standing with the homeserver, not about the request: a
 * token that no longer works (until serve logs in again) or a server over its limits.
 */
const REFUSALS_NOT_ABOUT_THE_REQUEST: Readonly<Record<string, FailureCause>> = {
  M_UNKNOWN_TOKEN: "not-ready",
  M_MISSING_TOKEN: "not-ready",
  M_USER_LOCKED: "not-ready",
  M_USER_SUSPENDED: "not-ready",
  M_RESOURCE_LIMIT_EXCEEDED: "unavailable",
};

/** Exit code for an internal error (a bug or something unexpected). */
export const EXIT_INTERNAL = 1;
export const EXIT_OK = 0;

export function isHonoroitError(e: unknown): e is HonoroitError {
  return e instanceof HonoroitError;
}

/**
 * Why something failed, as far as trying again goes. The first three say nothing about the
 * event or request being handled, so it waits and is tried again; only `final` is its own fault.
 * - `unavailable`: a service is down or unreachable (homeserver, database, issue tracker).
 * - `busy`: a service is overloaded or a lock is held (rate limit, SQLITE_BUSY, a deadlock).
 * - `not-ready`: our own state is not ready yet (e.g. the bot is not in the operators room).
 * - `stopping`: the process is shutting down.
 */
export type FailureCause = "unavailable" | "busy" | "not-ready" | "stopping" | "final";

const CAUSE_OF_CODE: Partial<Record<ErrorCode, FailureCause>> = {
  UNREACHABLE: "unavailable",
  BUSY: "busy",
  NOT_READY: "not-ready",
};

/** The one place failures are sorted by cause (see FailureCause). */
export function failureCause(e: unknown): FailureCause {
  if (e instanceof HonoroitError) return CAUSE_OF_CODE[e.code] ?? "final";
  if (e instanceof RefusedError) return REFUSALS_NOT_ABOUT_THE_REQUEST[e.errcode ?? ""] ?? (e.status === 401 ? "not-ready" : "final");
  if (e instanceof Error && e.name === "AbortError") return "stopping";
  return "final";
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A short random reference id that ties what a person sees to the logged stack. */
export function newReference(): string {
  return Math.random().toString(36).slice(2, 10);
}
