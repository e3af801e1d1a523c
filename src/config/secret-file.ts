import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileKeyOf } from "./schema.ts";
import type { ConfigKey } from "./schema.ts";
import type { Layer, RawValue } from "./layer.ts";

/** A raw value read from somewhere, or why it could not be. */
type RawOrProblem = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/**
 * Reads a secret from the file a `<key>File` key or `<ENV>_FILE` variable names (relative to
 * the layer's folder), without the trailing newline editors and `echo` leave.
 */
export async function readSecretFile(key: ConfigKey, given: RawValue, layer: Layer): Promise<RawOrProblem> {
  const fileKey = fileKeyOf(key);
  if (typeof given.raw !== "string") return { ok: false, message: `${fileKey} must be a file path (a string)` };
  const file = path.resolve(layer.baseDir, given.raw);
  let content: string;
  try {
    content = await readFile(file, "utf8");
  } catch (e) {
    const reason = e instanceof Error && "code" in e ? String(e.code) : String(e);
    return { ok: false, message: `cannot read ${fileKey} ${file} (${reason})` };
  }
  const value = content.replace(/[\r\n]+$/, "");
  if (value === "") return { ok: false, message: `${fileKey} ${file} is empty` };
  return { ok: true, value };
}
