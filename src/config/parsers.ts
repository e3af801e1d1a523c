import { isIP } from "node:net";
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { parseRoomId } from "../core/ids.ts";
import type { RoomId } from "../core/ids.ts";

// The parsers the schema's keys are read with. Each one accepts a raw value from one origin and
// either returns the normalised value or a message saying what was expected. None of them
// coerces a wrong value into a right-looking one; a secret's value never appears in a message.

/** Where a raw value came from; only booleans and lists read differently per origin. */
export type Origin = "flag" | "env" | "file";

export interface ParseContext {
  readonly origin: Origin;
  /** True for secrets: messages must not echo the value. */
  readonly secret: boolean;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

/** Turns a raw value (a string from env/flags, any JSON value from the file) into a setting's value. */
export type Parser<T> = (raw: unknown, ctx: ParseContext) => Parsed<T>;

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (message: string): Parsed<never> => ({ ok: false, message });

function typeName(raw: unknown): string {
  if (raw === null) return "null";
  if (Array.isArray(raw)) return "an array";
  return typeof raw === "object" ? "an object" : typeof raw;
}

/** The raw value as a message may show it. */
export function showValue(raw: unknown, ctx: ParseContext): string {
  if (ctx.secret) return "(value hidden)";
  if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") return JSON.stringify(raw);
  return typeName(raw);
}

function expectString(raw: unknown, ctx: ParseContext): Parsed<string> {
  if (typeof raw !== "string") return bad(`expected a string, got ${typeName(raw)}`);
  if (!ctx.secret && raw.trim() !== raw) return bad(`${showValue(raw, ctx)} has leading or trailing whitespace`);
  return ok(raw);
}

/** Any non-empty string. */
export function text(): Parser<string> {
  return expectString;
}

/**
 * A Matrix recovery key as clients show it (base58 in groups of four; spaces anywhere), checked
 * as Matrix does: its prefix, length and parity byte. One mistyped character fails the parity.
 */
export function recoveryKey(): Parser<string> {
  return (raw, ctx) => {
    const s = expectString(raw, ctx);
    if (!s.ok) return s;
    try {
      decodeRecoveryKey(s.value.trim());
    } catch (error) {
      const why = error instanceof Error ? error.message.toLowerCase() : String(error);
      return bad(`not a valid recovery key (${why}): check it for typing mistakes against what \`honoroit crypto recovery-key\` showed`);
    }
    return ok(s.value.trim());
  };
}

/** An http:// or https:// URL; a trailing slash is dropped so paths can be appended. */
export function httpUrl(example: string): Parser<string> {
  return (raw, ctx) => {
    const s = expectString(raw, ctx);
    if (!s.ok) return s;
    let url: URL;
    try {
      url = new URL(s.value);
    } catch {
      return bad(`${showValue(raw, ctx)} is not a URL (expected e.g. ${example})`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return bad(`${showValue(raw, ctx)} is not an http:// or https:// URL (expected e.g. ${example})`);
    }
    return ok(s.value.replace(/\/+$/, ""));
  };
}

/** A Sentry DSN: an http(s) URL with the project's key as its user and the project id last in its path. */
export function sentryDsn(example: string): Parser<string> {
  const url = httpUrl(example);
  return (raw, ctx) => {
    const s = url(raw, ctx);
    if (!s.ok) return s;
    const parsed = new URL(s.value);
    if (parsed.username === "" || !/\/[^/]+$/.test(parsed.pathname)) {
      return bad(`${showValue(raw, ctx)} is not a Sentry DSN: it needs the key before @ and the project id at the end (expected e.g. ${example})`);
    }
    return s;
  };
}

const LOCALPART = /^[^@:\s]+$/;
const MXID = /^@[^:\s]+:[^\s]+$/;

/** True for a full Matrix user id such as `@honoroit:example.com`. */
export function isFullUserId(login: string): boolean {
  return MXID.test(login);
}

/** A login: a localpart (`honoroit`) or a full Matrix ID (`@honoroit:example.com`). */
export function matrixLogin(): Parser<string> {
  return (raw, ctx) => {
    const s = expectString(raw, ctx);
    if (!s.ok) return s;
    if (LOCALPART.test(s.value) || MXID.test(s.value)) return s;
    return bad(`${showValue(raw, ctx)} is neither a localpart (honoroit) nor a full Matrix ID (@honoroit:example.com)`);
  };
}

/** A room ID (`!abc:example.com`); an alias is refused rather than resolved. */
export function roomId(): Parser<RoomId> {
  return (raw, ctx) => {
    const s = expectString(raw, ctx);
    if (!s.ok) return s;
    if (s.value.startsWith("#")) {
      return bad(`${showValue(raw, ctx)} is a room alias; give the room ID instead (starts with "!", e.g. !abc:example.com)`);
    }
    try {
      return ok(parseRoomId(s.value));
    } catch {
      return bad(`${showValue(raw, ctx)} is not a room ID (expected one starting with "!", e.g. !abc:example.com)`);
    }
  };
}

function numberFrom(raw: unknown, ctx: ParseContext, pattern: RegExp, what: string): Parsed<number> {
  if (typeof raw === "number") return ok(raw);
  if (typeof raw === "string" && pattern.test(raw.trim())) return ok(Number(raw.trim()));
  if (typeof raw === "string") return bad(`${showValue(raw, ctx)} is not ${what}`);
  return bad(`expected ${what}, got ${typeName(raw)}`);
}

function inRange(n: number, min: number, max: number | undefined, raw: unknown, ctx: ParseContext): Parsed<number> {
  if (n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
    return bad(`${showValue(raw, ctx)} is out of range (must be ${range})`);
  }
  return ok(n);
}

/** A whole number within bounds; the file may give a JSON number or a numeric string. */
export function integer(min: number, max?: number): Parser<number> {
  return (raw, ctx) => {
    const n = numberFrom(raw, ctx, /^[+-]?\d+$/, "a whole number");
    if (!n.ok) return n;
    if (!Number.isSafeInteger(n.value)) return bad(`${showValue(raw, ctx)} is not a whole number`);
    return inRange(n.value, min, max, raw, ctx);
  };
}

/** A decimal number within bounds. */
export function decimal(min: number, max: number): Parser<number> {
  return (raw, ctx) => {
    const n = numberFrom(raw, ctx, /^[+-]?(\d+\.?\d*|\.\d+)$/, "a number");
    if (!n.ok) return n;
    if (!Number.isFinite(n.value)) return bad(`${showValue(raw, ctx)} is not a number`);
    return inRange(n.value, min, max, raw, ctx);
  };
}

const TRUE_WORDS = new Set(["yes", "true", "1", "y", "on"]);
const FALSE_WORDS = new Set(["no", "false", "0", "n", "off"]);

/** A boolean: JSON true/false in the file; yes/true/1/y/on or no/false/0/n/off in env and flags. */
export function bool(): Parser<boolean> {
  return (raw, ctx) => {
    if (typeof raw === "boolean") return ok(raw);
    if (ctx.origin === "file") return bad(`expected true or false (a JSON boolean), got ${showValue(raw, ctx)}`);
    if (typeof raw === "string") {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(word)) return ok(true);
      if (FALSE_WORDS.has(word)) return ok(false);
    }
    return bad(`${showValue(raw, ctx)} is not a yes/no value (use yes/true/1/y/on or no/false/0/n/off)`);
  };
}

/** One of a fixed set of words (case-insensitive), each mapped to its normalised value. */
export function oneOf<T extends string>(words: Readonly<Record<string, T>>): Parser<T> {
  return (raw, ctx) => {
    if (typeof raw !== "string") return bad(`expected a string, got ${typeName(raw)}`);
    const value = words[raw.trim().toLowerCase()];
    if (value === undefined) return bad(`${showValue(raw, ctx)} is not one of: ${Object.keys(words).join(", ")}`);
    return ok(value);
  };
}

/** A string whose UTF-8 encoding has one of the given byte lengths (an AES key). */
export function byteLength(lengths: readonly number[]): Parser<string> {
  return (raw, ctx) => {
    const s = expectString(raw, ctx);
    if (!s.ok) return s;
    const n = Buffer.byteLength(s.value, "utf8");
    if (!lengths.includes(n)) return bad(`must be exactly ${lengths.join(", ").replace(/, (\d+)$/, " or $1")} bytes long, got ${n}`);
    return s;
  };
}

function isIpOrCidr(item: string): boolean {
  const slash = item.indexOf("/");
  if (slash === -1) return isIP(item) !== 0;
  const family = isIP(item.slice(0, slash));
  const bits = item.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** An IP address to listen on (IPv4 or IPv6). */
export function ipAddress(): Parser<string> {
  return (raw) => {
    if (typeof raw !== "string") return bad(`expected an IP address, got ${typeName(raw)}`);
    const trimmed = raw.trim();
    if (isIP(trimmed) === 0) return bad(`${JSON.stringify(trimmed)} is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface)`);
    return ok(trimmed);
  };
}

/** IP addresses or CIDR ranges: a comma-separated string, or (file, flags) a list of strings. */
export function ipList(): Parser<readonly string[]> {
  return (raw, ctx) => {
    let items: unknown[];
    if (typeof raw === "string") items = raw.split(",");
    else if (Array.isArray(raw) && ctx.origin !== "env") items = raw as unknown[];
    else return bad(`expected a comma-separated string or a list of strings, got ${typeName(raw)}`);
    const result: string[] = [];
    for (const item of items) {
      if (typeof item !== "string") return bad(`expected IP addresses as strings, got ${typeName(item)}`);
      const trimmed = item.trim();
      if (trimmed === "") continue; // a trailing comma is harmless
      if (!isIpOrCidr(trimmed)) return bad(`${JSON.stringify(trimmed)} is not an IP address or CIDR range (e.g. 10.0.0.0/8)`);
      result.push(trimmed);
    }
    return ok(result);
  };
}
