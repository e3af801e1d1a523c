import { HonoroitError } from "./errors.ts";

const UNITS: Readonly<Record<string, number>> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Parses a human duration such as `7d`, `12h`, `30m`, `90s`, `2w` or `1d12h` into milliseconds.
 * `0` is accepted and means "never" where the caller gives it that meaning.
 */
export function parseDuration(text: string): number {
  const value = text.trim().toLowerCase();
  if (value === "0") return 0;
  const part = /(\d+)\s*([smhdw])/g;
  let total = 0;
  let consumed = 0;
  for (const m of value.matchAll(part)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (UNITS[m[2] ?? ""] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== value.length) {
    throw new HonoroitError("BAD_ARGUMENT", `not a duration: "${text}" (use e.g. 90s, 30m, 12h, 7d, 2w, or 0)`);
  }
  return total;
}

/** Formats milliseconds as the largest whole units, e.g. `7d`, `1d12h`, `90s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  let rest = ms;
  let out = "";
  for (const [unit, size] of Object.entries(UNITS).reverse()) {
    if (unit === "w") continue;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out === "" ? `${ms}ms` : out;
}
