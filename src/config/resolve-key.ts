import { fileKeyOf, specOf } from "./schema.ts";
import type { ConfigKey } from "./schema.ts";
import { isUnset } from "./layer.ts";
import type { Layer, RawValue } from "./layer.ts";
import type { Problem, Source } from "./problem.ts";
import { readSecretFile } from "./secret-file.ts";

/** One key's parsed value and where it came from. */
export interface Resolved {
  readonly value: unknown;
  readonly source: Source;
  /** The folder relative paths in this value resolve against; null for a default. */
  readonly baseDir: string | null;
  readonly ok: boolean;
}

/**
 * Picks a key's value from the first layer that sets it (directly or through its `…File` key)
 * and parses it; on a problem the key keeps its default and the problem goes to `errors`.
 */
export async function resolveKey(key: ConfigKey, layers: readonly Layer[], errors: Problem[]): Promise<Resolved> {
  const spec = specOf(key);
  const fileKey = fileKeyOf(key);
  let winner: { layer: Layer; given: RawValue; viaFile: boolean } | undefined;
  for (const layer of layers) {
    const direct = layer.values.get(key);
    const viaFile = spec.fromFile === true ? layer.values.get(fileKey) : undefined;
    const given = direct !== undefined && !isUnset(direct.raw) ? direct : undefined;
    const givenFile = viaFile !== undefined && !isUnset(viaFile.raw) ? viaFile : undefined;
    if (given !== undefined && givenFile !== undefined) {
      errors.push({ key, source: given.source, message: `both ${key} and ${fileKey} are set (${givenFile.source}); set only one` });
    }
    if (winner === undefined && given !== undefined) winner = { layer, given, viaFile: false };
    else if (winner === undefined && givenFile !== undefined) winner = { layer, given: givenFile, viaFile: true };
  }
  const fallback: Resolved = { value: spec.default, source: "default", baseDir: null, ok: true };
  if (winner === undefined) return fallback;

  const { layer, given } = winner;
  const raw = winner.viaFile ? await readSecretFile(key, given, layer) : { ok: true as const, value: given.raw };
  if (!raw.ok) {
    errors.push({ key, source: given.source, message: raw.message });
    return { ...fallback, ok: false };
  }
  const parsed = spec.parse(raw.value, { origin: layer.origin, secret: spec.secret === true });
  if (!parsed.ok) {
    errors.push({ key, source: given.source, message: parsed.message });
    return { ...fallback, ok: false };
  }
  return { value: parsed.value, source: given.source, baseDir: layer.baseDir, ok: true };
}
