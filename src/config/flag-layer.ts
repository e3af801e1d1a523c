import { flagNameOf } from "./schema.ts";
import { SETTABLE_KEYS, suggestion } from "./layer.ts";
import type { Layer, RawValue } from "./layer.ts";
import type { Problem, Source } from "./problem.ts";

/** Command-line values (by dotted key) as a layer; an unknown setting is an error. */
export function flagLayer(flags: Readonly<Record<string, unknown>>, cwd: string, errors: Problem[]): Layer {
  const values = new Map<string, RawValue>();
  for (const [key, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const source: Source = `flag ${flagNameOf(key)}`;
    if (SETTABLE_KEYS.has(key)) values.set(key, { raw, source });
    else errors.push({ key, source, message: `unknown setting "${key}"${suggestion(key, SETTABLE_KEYS)}` });
  }
  return { origin: "flag", values, baseDir: cwd };
}
