import { formatDuration, parseDuration } from "./duration.ts";
import { HonoroitError, isHonoroitError } from "./errors.ts";
import type { RoomId } from "./ids.ts";

/**
 * One runtime option: its stored default, what it is for, what it accepts, and a parser that
 * rejects bad values (naming the key and the accepted values) instead of coercing them.
 */
export interface OptionDef<K extends string, T> {
  readonly key: K;
  /** The default in stored (string) form; it goes through `parse` like any stored value. */
  readonly default: string;
  readonly description: string;
  /** The accepted values, for people: shown in help and in every rejection. */
  readonly accepts: string;
  /** Parses a value as a person or the store wrote it; throws BAD_ARGUMENT when it is not acceptable. */
  parse(raw: string): T;
  /** The normalised string to store; `parse(format(v))` gives `v` back. */
  format(value: T): string;
}

/** Longest text option, well under Matrix's 64 KiB event limit. */
const MAX_TEXT_LENGTH = 4000;
const MAX_PREFIX_LENGTH = 100;

// ---------------------------------------------------------------------------
// Kinds of option. Each builds an OptionDef whose errors carry the key and `accepts`.
// ---------------------------------------------------------------------------

interface KindSpec<T> {
  readonly default: string;
  readonly description: string;
  readonly accepts: string;
  /** Returns the value, or calls `reject(problem)`; `problem` says what is wrong with this value. */
  parse(raw: string, reject: (problem: string) => never): T;
  format(value: T): string;
}

function defineOption<const K extends string, T>(key: K, spec: KindSpec<T>): OptionDef<K, T> {
  const reject = (problem: string): never => {
    throw new HonoroitError("BAD_ARGUMENT", `${key}: ${problem}; accepted: ${spec.accepts}`);
  };
  return {
    key,
    default: spec.default,
    description: spec.description,
    accepts: spec.accepts,
    parse: (raw) => spec.parse(raw, reject),
    format: (value) => spec.format(value),
  };
}

const TRUE_WORDS = ["yes", "true", "1", "y"];
const FALSE_WORDS = ["no", "false", "0", "n"];

/** A yes/no option. */
export function booleanOption<const K extends string>(key: K, dflt: boolean, description: string): OptionDef<K, boolean> {
  return defineOption(key, {
    default: String(dflt),
    description,
    accepts: `${TRUE_WORDS.join(", ")} or ${FALSE_WORDS.join(", ")}`,
    parse(raw, reject) {
      const word = raw.trim().toLowerCase();
      if (TRUE_WORDS.includes(word)) return true;
      if (FALSE_WORDS.includes(word)) return false;
      return reject(`"${raw}" is not a yes/no value`);
    },
    format: (value) => String(value),
  });
}

/** One of a fixed set of words. */
export function choiceOption<const K extends string, const C extends string>(
  key: K,
  choices: readonly C[],
  dflt: C,
  description: string,
): OptionDef<K, C> {
  return defineOption(key, {
    default: dflt,
    description,
    accepts: choices.join(" or "),
    parse(raw, reject) {
      const word = raw.trim().toLowerCase();
      const found = choices.find((c) => c === word);
      return found ?? reject(`"${raw}" is not one of them`);
    },
    format: (value) => value,
  });
}

/** What each `%s` of a template is filled with, in order. */
interface Placeholders {
  readonly names: readonly string[];
  /** Fewer placeholders than `names` are allowed down to this many (default: exactly `names.length`). */
  readonly min?: number;
}

const COUNT_WORDS = ["no", "one", "two", "three"];

function describePlaceholders({ names, min = names.length }: Placeholders): string {
  if (names.length === 0) return "text without %s placeholders";
  const which = names.join(", then ");
  if (min === names.length) return `text with exactly ${COUNT_WORDS[names.length] ?? names.length} %s (${which})`;
  return `text with at most ${COUNT_WORDS[names.length] ?? names.length} %s (${which})`;
}

/** Counts the `%s` placeholders of a template. */
export function countPlaceholders(template: string): number {
  return template.split("%s").length - 1;
}

/** A message text whose `%s` placeholders are checked against `placeholders`. */
export function templateOption<const K extends string>(
  key: K,
  dflt: string,
  description: string,
  placeholders: Placeholders = { names: [] },
): OptionDef<K, string> {
  const max = placeholders.names.length;
  const min = placeholders.min ?? max;
  return defineOption(key, {
    default: dflt,
    description,
    accepts: `non-empty ${describePlaceholders(placeholders)}, up to ${MAX_TEXT_LENGTH} characters`,
    parse(raw, reject) {
      const text = raw.trim();
      if (text === "") return reject("the text is empty (use `silent` to stop automatic messages)");
      if (text.length > MAX_TEXT_LENGTH) return reject(`the text is ${text.length} characters long`);
      const found = countPlaceholders(text);
      if (found < min || found > max) return reject(`found ${found} %s placeholder${found === 1 ? "" : "s"}`);
      return text;
    },
    format: (value) => value,
  });
}

/** A thread title prefix: one short line, without placeholders. */
export function prefixOption<const K extends string>(key: K, dflt: string, description: string): OptionDef<K, string> {
  return defineOption(key, {
    default: dflt,
    description,
    accepts: `a non-empty single line without %s, up to ${MAX_PREFIX_LENGTH} characters`,
    parse(raw, reject) {
      const text = raw.trim();
      if (text === "") return reject("the prefix is empty");
      if (/[\r\n]/.test(text)) return reject("the prefix has a line break");
      if (text.length > MAX_PREFIX_LENGTH) return reject(`the prefix is ${text.length} characters long`);
      if (text.includes("%s")) return reject("the prefix has a %s placeholder");
      return text;
    },
    format: (value) => value,
  });
}

/** Splits a comma-separated list, trimming entries and dropping empty ones and repeats. */
function splitList(raw: string): string[] {
  const out: string[] = [];
  for (const part of raw.split(",")) {
    const item = part.trim();
    if (item !== "" && !out.includes(item)) out.push(item);
  }
  return out;
}

/** `@local:server`, where either part may use `*` and `?`; the server part may hold a port. */
const USER_PATTERN = /^@[^:\s,]+:[^\s,]+$/;

/** A list of user id patterns (`@*:example.com`); the server parts are stored lowercased. */
export function userPatternsOption<const K extends string>(key: K, dflt: string, description: string): OptionDef<K, readonly string[]> {
  return defineOption(key, {
    default: dflt,
    description,
    accepts: "comma-separated user ids like @name:server, where * matches any run of characters and ? one character (e.g. @*:example.com, @support-?:*)",
    parse(raw, reject) {
      const patterns = splitList(raw);
      if (patterns.length === 0) return reject("the list is empty (use @*:* to allow everyone)");
      const bad = patterns.filter((p) => !USER_PATTERN.test(p));
      if (bad.length > 0) return reject(`not a user id pattern: ${bad.map((p) => `"${p}"`).join(", ")}`);
      return patterns.map(lowercaseServer);
    },
    format: (value) => value.join(","),
  });
}

const ROOM_ID = /^![^\s,]+$/;

/** A list of room ids, empty by default. */
export function roomListOption<const K extends string>(key: K, description: string): OptionDef<K, readonly RoomId[]> {
  return defineOption(key, {
    default: "",
    description,
    accepts: "comma-separated room ids like !abc123:example.com, or nothing",
    parse(raw, reject) {
      const rooms = splitList(raw);
      const bad = rooms.filter((r) => !ROOM_ID.test(r));
      if (bad.length > 0) return reject(`not a room id: ${bad.map((r) => `"${r}"`).join(", ")}`);
      return rooms as RoomId[];
    },
    format: (value) => value.join(","),
  });
}

/** A whole number from `min` to `max`. */
export function integerOption<const K extends string>(key: K, dflt: number, description: string, min: number, max: number): OptionDef<K, number> {
  return defineOption(key, {
    default: String(dflt),
    description,
    accepts: `a whole number from ${min} to ${max}`,
    parse(raw, reject) {
      const word = raw.trim();
      if (!/^-?\d+$/.test(word)) return reject(`"${raw}" is not a whole number`);
      const n = Number(word);
      if (n < min || n > max) return reject(`${n} is not from ${min} to ${max}`);
      return n;
    },
    format: (value) => String(value),
  });
}

/** A duration of at least `minMs`, or 0 to turn the option off. */
export function durationOption<const K extends string>(key: K, dflt: string, description: string, minMs: number): OptionDef<K, number> {
  return defineOption(key, {
    default: dflt,
    description,
    accepts: `a duration such as 12h, 7d, 2w or 1d12h (at least ${formatDuration(minMs)}), or 0 to turn it off`,
    parse(raw, reject) {
      let ms: number;
      try {
        ms = parseDuration(raw);
      } catch (e) {
        if (isHonoroitError(e)) return reject(`"${raw}" is not a duration`);
        throw e;
      }
      if (ms !== 0 && ms < minMs) return reject(`"${raw}" is too short`);
      return ms;
    },
    format: (value) => formatDuration(value),
  });
}

function lowercaseServer(mxid: string): string {
  const colon = mxid.indexOf(":");
  return colon < 0 ? mxid : mxid.slice(0, colon) + mxid.slice(colon).toLowerCase();
}
