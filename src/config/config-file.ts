import { stat } from "node:fs/promises";
import path from "node:path";
import { cosmiconfig } from "cosmiconfig";
import type { Loader } from "cosmiconfig";
import { CONFIG_GROUPS } from "./schema.ts";
import { SETTABLE_KEYS, suggestion } from "./layer.ts";
import type { Layer, RawValue } from "./layer.ts";
import type { Problem, Source } from "./problem.ts";

/**
 * The files searched for, in the working folder only (not its parents), first match wins.
 * Only JSON is read: a config file never runs code, and one format keeps the docs simple.
 */
export const CONFIG_SEARCH_PLACES = [
  "honoroit.config.json",
  ".honoroitrc",
  ".honoroitrc.json",
  ".config/honoroitrc",
  ".config/honoroitrc.json",
  "package.json",
] as const;

class ConfigFileError extends Error {
  constructor(
    readonly filepath: string,
    message: string,
  ) {
    super(message);
  }
}

const loadJson: Loader = (filepath, content) => {
  try {
    return JSON.parse(content) as unknown;
  } catch (e) {
    throw new ConfigFileError(filepath, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
};

const rejectCode: Loader = (filepath) => {
  throw new ConfigFileError(filepath, "only JSON config files are read (honoroit.config.json, .honoroitrc, .honoroitrc.json)");
};

function explorer() {
  return cosmiconfig("honoroit", {
    searchPlaces: [...CONFIG_SEARCH_PLACES],
    searchStrategy: "none",
    ignoreEmptySearchPlaces: false,
    cache: false,
    loaders: {
      ".json": loadJson,
      noExt: loadJson,
      default: loadJson,
      ".js": rejectCode,
      ".mjs": rejectCode,
      ".cjs": rejectCode,
      ".ts": rejectCode,
      ".mts": rejectCode,
      ".cts": rejectCode,
      ".yaml": rejectCode,
      ".yml": rejectCode,
    },
  });
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw);
}

/** Reads the explicit config file (`--config`), or the first one found in `cwd`; a problem goes to `errors`. */
export async function readConfigFile(
  configFile: string | undefined,
  cwd: string,
  errors: Problem[],
): Promise<{ file: string; content: unknown } | undefined> {
  try {
    if (configFile !== undefined) {
      const file = path.resolve(cwd, configFile);
      const found = await stat(file).catch(() => undefined);
      if (found === undefined || !found.isFile()) {
        errors.push({ key: "config", source: "flag --config", message: `config file not found: ${file}` });
        return undefined;
      }
      const result = await explorer().load(file);
      return { file, content: (result?.config as unknown) ?? {} };
    }
    const result = await explorer().search(cwd);
    if (result === null) return undefined;
    return { file: result.filepath, content: (result.config as unknown) ?? {} };
  } catch (e) {
    if (e instanceof ConfigFileError) {
      errors.push({ key: "config", source: `file ${e.filepath}`, message: e.message });
    } else {
      const message = e instanceof Error ? e.message : String(e);
      errors.push({ key: "config", source: configFile === undefined ? `file ${cwd}` : "flag --config", message });
    }
    return undefined;
  }
}

/** Flattens the nested file into dotted keys, reporting unknown keys and misplaced values. */
export function fileLayer(file: string, content: unknown, errors: Problem[]): Layer {
  const source: Source = `file ${file}`;
  const values = new Map<string, RawValue>();
  const layer: Layer = { origin: "file", values, baseDir: path.dirname(file) };
  if (!isPlainObject(content)) {
    errors.push({ key: "config", source, message: `expected a JSON object at the top level, got ${JSON.stringify(content)}` });
    return layer;
  }
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [name, raw] of Object.entries(node)) {
      const key = prefix === "" ? name : `${prefix}.${name}`;
      if (name.includes(".")) {
        const nested = name.split(".").reduceRight<string>((inner, part) => `{"${part}": ${inner}}`, "…");
        errors.push({ key, source, message: `keys are nested in the file: write ${nested}, not "${name}"` });
      } else if (SETTABLE_KEYS.has(key)) {
        values.set(key, { raw, source });
      } else if (CONFIG_GROUPS.has(key)) {
        if (isPlainObject(raw)) walk(raw, key);
        else if (raw !== null) errors.push({ key, source, message: `expected an object holding the ${key}.* settings` });
      } else {
        const hint = suggestion(key, [...SETTABLE_KEYS, ...CONFIG_GROUPS]);
        errors.push({ key, source, message: `unknown key "${key}" in file ${file}${hint}` });
      }
    }
  };
  walk(content, "");
  return layer;
}
