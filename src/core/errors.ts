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
  UNREACHABLE: { exit: 4, summary: "service unreachable" },
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

/** Exit code for an internal error (a bug or something unexpected). */
export const EXIT_INTERNAL = 1;
export const EXIT_OK = 0;

export function isHonoroitError(e: unknown): e is HonoroitError {
  return e instanceof HonoroitError;
}

/**
 * A failure that says nothing about the event being handled: a service is unreachable, or the
 * process is stopping. The event is handled again later; any other failure is final for it.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof HonoroitError) return e.code === "UNREACHABLE";
  return e instanceof Error && e.name === "AbortError";
}

/** The message of anything thrown. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A short random reference id that ties what a person sees to the logged stack. */
export function newReference(): string {
  return Math.random().toString(36).slice(2, 10);
}
