// How an error from PostgreSQL is sorted by cause: a conflict between transactions (run again),
// a server busy or unreachable (retried by whoever called), or the statement's own fault.
import { DatabaseError } from "pg";
import { HonoroitError } from "../../core/errors.ts";

/** What a server error says about the database, as opposed to the statement that met it. */
interface ServerCode {
  /**
   * conflict: two transactions got in each other's way; the transaction runs again, and is
   * BUSY if that keeps happening. busy: the server is there but cannot do this now (BUSY).
   * unreachable: no usable connection to it (UNREACHABLE).
   */
  readonly cause: "conflict" | "busy" | "unreachable";
  /** Why, in words, for messages. */
  readonly reason: string;
  /** The connection itself will go on failing so: the pool must not hand it out again. */
  readonly reconnect?: true;
}

/**
 * Server errors (SQLSTATE codes, or two-character classes) that are not the statement's fault;
 * an exact code wins over its class. Any other (a constraint, a syntax error, bad data) is the
 * statement's own or a bug, and is thrown as it is.
 */
const SERVER_CODES: ReadonlyMap<string, ServerCode> = new Map<string, ServerCode>([
  ["40001", { cause: "conflict", reason: "a serialization failure" }],
  ["40P01", { cause: "conflict", reason: "a deadlock" }],
  ["55P03", { cause: "busy", reason: "a lock could not be had at once" }],
  // Insufficient resources: the server is short of something for now.
  ["53", { cause: "busy", reason: "the server is short of resources" }],
  ["53100", { cause: "busy", reason: "the disk is full" }],
  ["53200", { cause: "busy", reason: "the server is out of memory" }],
  ["53300", { cause: "busy", reason: "too many connections" }],
  // A write on a server that takes none: after a failover, we are talking to a standby.
  ["25006", { cause: "busy", reason: "the server is read-only (a standby, after a failover?)", reconnect: true }],
  // A statement timeout, or an administrator cancelling the query.
  ["57014", { cause: "busy", reason: "the statement was cancelled or timed out" }],
  ["08", { cause: "unreachable", reason: "connection failure" }],
  ["3D000", { cause: "unreachable", reason: "database does not exist" }],
  ["28P01", { cause: "unreachable", reason: "authentication failed" }],
  ["28000", { cause: "unreachable", reason: "authentication failed" }],
  ["57P01", { cause: "unreachable", reason: "the server is shutting down" }],
  ["57P02", { cause: "unreachable", reason: "the server is shutting down" }],
  ["57P03", { cause: "unreachable", reason: "the server is not accepting connections yet" }],
]);

/** The entry for a server error, by its code or else its class; undefined for anything else. */
export function serverCode(e: unknown): ServerCode | undefined {
  const raw = e instanceof HonoroitError ? e.cause : e;
  if (!(raw instanceof DatabaseError) || raw.code === undefined) return undefined;
  return SERVER_CODES.get(raw.code) ?? SERVER_CODES.get(raw.code.slice(0, 2));
}

/** A serialization failure or deadlock, possibly already sorted by pgFailure. */
export function isConflict(e: unknown): boolean {
  return serverCode(e)?.cause === "conflict";
}

/**
 * Sorts an error from PostgreSQL at `target` (host:port) by cause: a HonoroitError when it is
 * not the statement's fault (see SERVER_CODES, and the network errors below), otherwise `e`.
 */
export function pgFailure(e: unknown, target: string): unknown {
  if (e instanceof HonoroitError) return e;
  if (isUnreachable(e)) {
    return new HonoroitError("UNREACHABLE", `cannot reach PostgreSQL at ${target}: ${connectionReason(e)}`, { cause: e });
  }
  const known = serverCode(e);
  if (known === undefined || !(e instanceof DatabaseError)) return e;
  const said = e.message === "" ? (e.code ?? "") : `${e.code ?? ""}: ${e.message}`;
  return new HonoroitError("BUSY", `PostgreSQL at ${target} is busy: ${known.reason} (${said}); try again`, { cause: e });
}

// Errors that mean "the database is not there for us", as opposed to a bad query.
const NETWORK_REASONS = new Map([
  ["ECONNREFUSED", "connection refused"],
  ["ECONNRESET", "connection reset"],
  ["EPIPE", "connection lost"],
  ["ENOTFOUND", "host not found"],
  ["EAI_AGAIN", "host not found"],
  ["ETIMEDOUT", "timed out"],
  ["EHOSTUNREACH", "no route to host"],
  ["ENETUNREACH", "network unreachable"],
]);

export function isUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof HonoroitError) return e.code === "UNREACHABLE";
  const code = errorCode(e);
  // A server-side error is about the connection only for some codes (a statement timeout is not).
  if (e instanceof DatabaseError) return serverCode(e)?.cause === "unreachable";
  if (code !== undefined && NETWORK_REASONS.has(code)) return true;
  if (e instanceof AggregateError) return (e.errors as unknown[]).some(isUnreachable);
  // pg's own wording for connectionTimeoutMillis and for a socket closed under it.
  return /timeout|Connection terminated/i.test(e.message);
}

export function connectionReason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e instanceof AggregateError) {
    // Node reports a failed happy-eyeballs connect (IPv6 and IPv4) as one AggregateError.
    const first = (e.errors as unknown[]).find(isUnreachable);
    if (first !== undefined) return connectionReason(first);
  }
  const code = errorCode(e);
  // The server's own wording (`database "x" does not exist`) is the clearest; it holds no password.
  if (e instanceof DatabaseError) return e.message === "" ? (serverCode(e)?.reason ?? "error") : e.message;
  const network = code === undefined ? undefined : NETWORK_REASONS.get(code);
  return network === undefined ? e.message : `${network} (${code ?? ""})`;
}

function errorCode(e: Error): string | undefined {
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
