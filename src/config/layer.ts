import { closestMatch } from "../core/typo.ts";
import { CONFIG_KEYS, fileKeyOf, specOf } from "./schema.ts";
import type { Origin } from "./parsers.ts";
import type { Source } from "./problem.ts";

/** A value found in one layer (flags, env or the file), before parsing. */
export interface RawValue {
  readonly raw: unknown;
  readonly source: Source;
}

/** The raw values one source (flags, env or the file) gives, by key. */
export interface Layer {
  readonly origin: Origin;
  /** Dotted keys and `…File` keys to raw values. */
  readonly values: Map<string, RawValue>;
  /** Relative paths given in this layer resolve against this folder. */
  readonly baseDir: string;
}

/** Keys the file and flags accept: every key, plus `<key>File` for secrets that may live in a file. */
export const SETTABLE_KEYS: ReadonlySet<string> = new Set([
  ...CONFIG_KEYS,
  ...CONFIG_KEYS.filter((k) => specOf(k).fromFile === true).map(fileKeyOf),
]);

/** Unset: absent, null (the example file's "no value"), or an empty string (as env files write it). */
export function isUnset(raw: unknown): boolean {
  return raw === undefined || raw === null || raw === "";
}

/** "; did you mean X?" for the closest candidate, when one is close enough to be a typo. */
export function suggestion(name: string, candidates: Iterable<string>): string {
  const best = closestMatch(name, candidates, Math.max(1, Math.min(3, Math.floor(name.length / 3))));
  return best !== undefined ? `; did you mean ${best}?` : "";
}
