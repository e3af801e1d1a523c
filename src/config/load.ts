import path from "node:path";
import { HonoroitError } from "../core/errors.ts";
import type { RoomId } from "../core/ids.ts";
import { CONFIG_KEYS, nestConfig, specOf } from "./schema.ts";
import type { ConfigKey, HonoroitConfig } from "./schema.ts";
import { isFullUserId } from "./parsers.ts";
import type { Problem, Source } from "./problem.ts";
import type { Layer } from "./layer.ts";
import { fileLayer, readConfigFile } from "./config-file.ts";
import { envLayer } from "./env-layer.ts";
import { flagLayer } from "./flag-layer.ts";
import { resolveKey } from "./resolve-key.ts";
import type { Resolved } from "./resolve-key.ts";
import { normaliseDatabase } from "./database.ts";
import type { MutableFlat } from "./database.ts";
import { crossFieldRules } from "./cross-field-rules.ts";

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

/** Formats a problem as one line: `<key> (<source>): <message>`. */
export function formatProblem(problem: Problem): string {
  return `${problem.key} (${problem.source}): ${problem.message}`;
}

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

  const found = await readConfigFile(opts.configFile, cwd, errors);
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
