import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { cosmiconfig } from "cosmiconfig";
import type { Loader } from "cosmiconfig";
import { HonoroitError } from "../core/errors.ts";
import { closestMatch } from "../core/typo.ts";
import type { RoomId } from "../core/ids.ts";
import {
  CONFIG_GROUPS,
  CONFIG_KEYS,
  fileEnvOf,
  fileKeyOf,
  flagNameOf,
  isFullUserId,
  nestConfig,
  specOf,
} from "./schema.ts";
import type { ConfigKey, FlatConfig, HonoroitConfig, Origin } from "./schema.ts";

/** Where a value came from, as shown to a person: `flag --log-level`, `env HONOROIT_PORT`, `file /etc/honoroit/honoroit.config.json`, `default`. */
export type Source = "default" | `flag ${string}` | `env ${string}` | `file ${string}`;

/** One thing wrong (or suspicious) with the configuration. */
export interface Problem {
  /** The dotted key (`db.dialect`), an unknown key or variable as written, or `config` for the file itself. */
  readonly key: string;
  readonly source: Source;
  readonly message: string;
}

export interface LoadOptions {
  /** An explicit config file (`--config`); it must exist. Without it, the working folder is searched. */
  readonly configFile?: string | undefined;
  /** Defaults to `process.env`. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  /** Command-line values by dotted key (`{ logLevel: "debug" }`), the highest precedence. */
  readonly flags?: Readonly<Record<string, unknown>> | undefined;
  /** Where to search for the config file and resolve relative paths; defaults to `process.cwd()`. */
  readonly cwd?: string | undefined;
}

export interface LoadResult {
  /** Only trustworthy when `errors` is empty: a key with a problem holds its default. */
  readonly config: HonoroitConfig;
  readonly sources: Map<ConfigKey, Source>;
  readonly warnings: Problem[];
  readonly errors: Problem[];
  /** The config file that was read (absolute path), if any. */
  readonly file?: string;
}

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

/** A value found in one layer (flags, env or the file), before parsing. */
interface RawValue {
  readonly raw: unknown;
  readonly source: Source;
}

interface Layer {
  readonly origin: Origin;
  /** Dotted keys and `…File` keys to raw values. */
  readonly values: Map<string, RawValue>;
  /** Relative paths given in this layer resolve against this folder. */
  readonly baseDir: string;
}

/** Keys the file and flags accept: every key, plus `<key>File` for secrets that may live in a file. */
const SETTABLE_KEYS: ReadonlySet<string> = new Set([
  ...CONFIG_KEYS,
  ...CONFIG_KEYS.filter((k) => specOf(k).fromFile === true).map(fileKeyOf),
]);

/** Every environment variable we read, mapped to the dotted key (or `…File` key) it sets. */
const KNOWN_ENV: ReadonlyMap<string, string> = new Map(
  CONFIG_KEYS.flatMap((key) => {
    const spec = specOf(key);
    const names: [string, string][] = [[spec.env, key]];
    for (const alias of spec.envAliases ?? []) names.push([alias, key]);
    if (spec.fromFile === true) names.push([fileEnvOf(key), fileKeyOf(key)]);
    return names;
  }),
);

/** Unset: absent, null (the example file's "no value"), or an empty string (as env files write it). */
function isUnset(raw: unknown): boolean {
  return raw === undefined || raw === null || raw === "";
}

function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw);
}


/** "; did you mean X?" for the closest candidate, when one is close enough to be a typo. */
function suggestion(name: string, candidates: Iterable<string>): string {
  const best = closestMatch(name, candidates, Math.max(1, Math.min(3, Math.floor(name.length / 3))));
  return best !== undefined ? `; did you mean ${best}?` : "";
}

/** Formats a problem as one line: `<key> (<source>): <message>`. */
export function formatProblem(problem: Problem): string {
  return `${problem.key} (${problem.source}): ${problem.message}`;
}

// ---------------------------------------------------------------------------
// Layers.
// ---------------------------------------------------------------------------

async function readConfigFile(
  opts: LoadOptions,
  cwd: string,
  errors: Problem[],
): Promise<{ file: string; content: unknown } | undefined> {
  try {
    if (opts.configFile !== undefined) {
      const file = path.resolve(cwd, opts.configFile);
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
      errors.push({ key: "config", source: opts.configFile === undefined ? `file ${cwd}` : "flag --config", message });
    }
    return undefined;
  }
}

/** Flattens the nested file into dotted keys, reporting unknown keys and misplaced values. */
function fileLayer(file: string, content: unknown, errors: Problem[]): Layer {
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

function envLayer(env: NodeJS.ProcessEnv, cwd: string, warnings: Problem[]): Layer {
  const values = new Map<string, RawValue>();
  for (const key of CONFIG_KEYS) {
    const spec = specOf(key);
    const names = [spec.env, ...(spec.envAliases ?? [])];
    const setNames = names.filter((name) => !isUnset(env[name]));
    const name = setNames[0];
    if (name !== undefined) {
      values.set(key, { raw: env[name], source: `env ${name}` });
      if (name !== spec.env) {
        warnings.push({ key, source: `env ${name}`, message: `${name} is an older name for ${spec.env}; it still works, but prefer ${spec.env}` });
      }
      for (const ignored of setNames.slice(1)) {
        warnings.push({ key, source: `env ${ignored}`, message: `${ignored} is ignored because ${name} is set` });
      }
    }
    if (spec.fromFile === true) {
      const fileEnv = fileEnvOf(key);
      if (!isUnset(env[fileEnv])) values.set(fileKeyOf(key), { raw: env[fileEnv], source: `env ${fileEnv}` });
    }
  }
  for (const name of Object.keys(env)) {
    if (!name.startsWith("HONOROIT_") || KNOWN_ENV.has(name)) continue;
    const isFileVariant = name.endsWith("_FILE") && KNOWN_ENV.has(name.slice(0, -"_FILE".length));
    const message = isFileVariant
      ? `unknown environment variable ${name}: only secrets can be read from a file (${[...KNOWN_ENV.keys()].filter((n) => n.endsWith("_FILE")).join(", ")})`
      : `unknown environment variable ${name}${suggestion(name, KNOWN_ENV.keys())}`;
    warnings.push({ key: name, source: `env ${name}`, message });
  }
  return { origin: "env", values, baseDir: cwd };
}

function flagLayer(flags: Readonly<Record<string, unknown>>, cwd: string, errors: Problem[]): Layer {
  const values = new Map<string, RawValue>();
  for (const [key, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    const source: Source = `flag ${flagNameOf(key)}`;
    if (SETTABLE_KEYS.has(key)) values.set(key, { raw, source });
    else errors.push({ key, source, message: `unknown setting "${key}"${suggestion(key, SETTABLE_KEYS)}` });
  }
  return { origin: "flag", values, baseDir: cwd };
}

// ---------------------------------------------------------------------------
// Resolving each key.
// ---------------------------------------------------------------------------

interface Resolved {
  readonly value: unknown;
  readonly source: Source;
  /** The folder relative paths in this value resolve against; null for a default. */
  readonly baseDir: string | null;
  readonly ok: boolean;
}

type RawOrProblem = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

async function readSecretFile(key: ConfigKey, given: RawValue, layer: Layer): Promise<RawOrProblem> {
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

async function resolveKey(key: ConfigKey, layers: readonly Layer[], errors: Problem[]): Promise<Resolved> {
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

// ---------------------------------------------------------------------------
// Normalising and cross-field rules.
// ---------------------------------------------------------------------------

type MutableFlat = { -readonly [K in keyof FlatConfig]: FlatConfig[K] };

function isPostgresUrl(dsn: string): boolean {
  try {
    const { protocol } = new URL(dsn);
    return protocol === "postgres:" || protocol === "postgresql:";
  } catch {
    return false;
  }
}

function normaliseDatabase(
  flat: MutableFlat,
  resolved: ReadonlyMap<ConfigKey, Resolved>,
  defaultDir: string,
  problems: { errors: Problem[]; warnings: Problem[] },
): void {
  const dsnSource = resolved.get("db.dsn")?.source ?? "default";
  const dialectSource = resolved.get("db.dialect")?.source ?? "default";
  if (resolved.get("db.dsn")?.ok === false || resolved.get("db.dialect")?.ok === false) return;
  const dsn = flat["db.dsn"];
  if (flat["db.dialect"] === "postgres") {
    if (dsnSource === "default") {
      problems.errors.push({
        key: "db.dsn",
        source: dsnSource,
        message: `required when db.dialect is postgres (${dialectSource}): a postgres:// or postgresql:// URL (HONOROIT_DB_DSN)`,
      });
    } else if (!isPostgresUrl(dsn)) {
      problems.errors.push({
        key: "db.dsn",
        source: dsnSource,
        message: "with db.dialect postgres, expected a postgres:// or postgresql:// URL (key=value connection strings are not supported)",
      });
    }
    return;
  }
  if (isPostgresUrl(dsn)) {
    problems.errors.push({
      key: "db.dsn",
      source: dsnSource,
      message: `is a PostgreSQL URL but db.dialect is sqlite (${dialectSource}); set db.dialect (HONOROIT_DB_DIALECT) to postgres`,
    });
    return;
  }
  if (dsn === ":memory:") return;
  // The Go bot's SQLite driver takes `file:path?options`; the options mean nothing to ours.
  let file = dsn.replace(/^file:/, "");
  const query = file.indexOf("?");
  if (query !== -1) {
    file = file.slice(0, query);
    problems.warnings.push({ key: "db.dsn", source: dsnSource, message: `SQLite driver options after "?" are ignored; using the file ${file}` });
  }
  const baseDir = resolved.get("db.dsn")?.baseDir ?? defaultDir;
  flat["db.dsn"] = path.resolve(baseDir, file);
}

/** How the bot logs in, in order of preference when several are set. */
export type AuthMethod = "token" | "sharedSecret" | "password";
const AUTH_ORDER: readonly AuthMethod[] = ["token", "sharedSecret", "password"];

/** The login method `serve` uses: token first, then sharedSecret, then password; null when none is set. */
export function authMethod(config: HonoroitConfig): AuthMethod | null {
  return AUTH_ORDER.find((method) => config[method] !== null) ?? null;
}

function crossFieldRules(
  config: HonoroitConfig,
  sourceOf: (key: ConfigKey) => Source,
  problems: { errors: Problem[]; warnings: Problem[] },
): void {
  const methods = AUTH_ORDER.filter((method) => config[method] !== null);
  const used = methods[0];
  if (methods.length > 1 && used !== undefined) {
    problems.warnings.push({
      key: used,
      source: sourceOf(used),
      message: `${methods.join(", ")} are all set; ${used} is used and the others are ignored`,
    });
  }
  if (used === "sharedSecret" && config.login !== null && !isFullUserId(config.login)) {
    problems.errors.push({
      key: "login",
      source: sourceOf("login"),
      message: `must be a full Matrix ID (@user:server) when logging in with sharedSecret, got "${config.login}"`,
    });
  }

  const metrics = config.metrics;
  if (metrics.login !== null && metrics.password === null) {
    problems.errors.push({ key: "metrics.password", source: "default", message: "required when metrics.login is set (HONOROIT_METRICS_PASSWORD)" });
  }
  if (metrics.password !== null && metrics.login === null) {
    problems.errors.push({ key: "metrics.login", source: "default", message: "required when metrics.password is set (HONOROIT_METRICS_LOGIN)" });
  }

  const redmineKeys = CONFIG_KEYS.filter((k) => k.startsWith("redmine."));
  const redmine = config.redmine;
  const setKey = redmineKeys.find((k) => sourceOf(k) !== "default");
  if (setKey !== undefined) {
    const required: [ConfigKey, unknown][] = [
      ["redmine.host", redmine.host],
      ["redmine.apiKey", redmine.apiKey],
      ["redmine.project", redmine.project],
    ];
    for (const [key, value] of required) {
      if (value === null) {
        problems.errors.push({
          key,
          source: sourceOf(key),
          message: `required for the Redmine sync, which is on because ${setKey} is set (${specOf(key).env})`,
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The entry points.
// ---------------------------------------------------------------------------

/**
 * Loads the configuration: find the file (cosmiconfig) → overlay env → overlay flags →
 * parse every key → normalise → cross-field rules. Never throws for a bad configuration:
 * every problem is collected into `errors` (see `assertValid`) or `warnings`.
 */
export async function loadConfig(opts: LoadOptions = {}): Promise<LoadResult> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const env = opts.env ?? process.env;
  const errors: Problem[] = [];
  const warnings: Problem[] = [];

  const found = await readConfigFile(opts, cwd, errors);
  const layers: Layer[] = [flagLayer(opts.flags ?? {}, cwd, errors), envLayer(env, cwd, warnings)];
  if (found !== undefined) layers.push(fileLayer(found.file, found.content, errors));

  const resolved = new Map<ConfigKey, Resolved>();
  const flat: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const r = await resolveKey(key, layers, errors);
    resolved.set(key, r);
    flat[key] = r.value;
  }
  // Every key was set from its parser's result or its default, which is what FlatConfig describes.
  const typed = flat as MutableFlat;
  const defaultDir = found === undefined ? cwd : path.dirname(found.file);
  normaliseDatabase(typed, resolved, defaultDir, { errors, warnings });

  const config = nestConfig(typed);
  const sources = new Map<ConfigKey, Source>([...resolved].map(([key, r]) => [key, r.ok ? r.source : "default"]));
  const sourceOf = (key: ConfigKey): Source => sources.get(key) ?? "default";
  crossFieldRules(config, sourceOf, { errors, warnings });

  return { config, sources, warnings, errors, ...(found === undefined ? {} : { file: found.file }) };
}

/** Throws one BAD_CONFIG error listing every problem; returns the configuration when there is none. */
export function assertValid(result: LoadResult): HonoroitConfig {
  const n = result.errors.length;
  if (n > 0) {
    throw new HonoroitError("BAD_CONFIG", `configuration has ${n} problem${n === 1 ? "" : "s"}`, {
      details: result.errors.map(formatProblem),
    });
  }
  return result.config;
}

/** Credentials for the bot's Matrix login. */
export type MatrixAuth =
  | { readonly method: "token"; readonly token: string }
  | { readonly method: "sharedSecret"; readonly sharedSecret: string }
  | { readonly method: "password"; readonly password: string };

/** What `serve` needs to reach Matrix, every piece present. */
export interface MatrixLogin {
  readonly homeserver: string;
  /** Null only with a token (the user is resolved with /account/whoami). */
  readonly login: string | null;
  readonly auth: MatrixAuth;
  readonly roomId: RoomId;
}

/** Checks the settings `serve` needs to log in to Matrix; throws one BAD_CONFIG error naming every missing one. */
export function requireMatrixLogin(config: HonoroitConfig): MatrixLogin {
  const details: string[] = [];
  const missing = (key: ConfigKey, why: string): void => {
    details.push(`${key}: ${why}; set ${specOf(key).env} or "${key}" in the config file`);
  };
  if (config.homeserver === null) missing("homeserver", "the homeserver URL is required");
  const auth: MatrixAuth | undefined =
    config.token !== null
      ? { method: "token", token: config.token }
      : config.sharedSecret !== null
        ? { method: "sharedSecret", sharedSecret: config.sharedSecret }
        : config.password !== null
          ? { method: "password", password: config.password }
          : undefined;
  if (auth === undefined) {
    details.push(
      "password / sharedSecret / token: one is required to log in; set HONOROIT_PASSWORD, HONOROIT_SHAREDSECRET or HONOROIT_TOKEN (or their _FILE variants)",
    );
  }
  if (config.login === null && auth?.method !== "token") missing("login", "the bot's login is required unless a token is used");
  if (auth?.method === "sharedSecret" && config.login !== null && !isFullUserId(config.login)) {
    details.push(`login: must be a full Matrix ID (@user:server) with sharedSecret; set ${specOf("login").env}`);
  }
  if (config.roomId === null) missing("roomId", "the operators room ID is required");
  if (details.length > 0 || config.homeserver === null || auth === undefined || config.roomId === null) {
    throw new HonoroitError("BAD_CONFIG", `configuration is missing what is needed to connect to Matrix (${details.length} problem${details.length === 1 ? "" : "s"})`, {
      details,
    });
  }
  return { homeserver: config.homeserver, login: config.login, auth, roomId: config.roomId };
}
