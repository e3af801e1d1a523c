import type { LogLevel } from "../core/ports.ts";
import { bool, byteLength, decimal, httpUrl, integer, ipAddress, ipList, matrixLogin, oneOf, recoveryKey, roomId, sentryDsn, text } from "./parsers.ts";
import type { Parser } from "./parsers.ts";

// ---------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------

/** One configuration key: how it is named in each source, its default, and how it is read. */
export interface KeySpec<T> {
  /** The environment variable (the Go bot's name). */
  readonly env: string;
  /** Older environment names still accepted, with a warning. */
  readonly envAliases?: readonly string[];
  readonly description: string;
  readonly parse: Parser<T>;
  /** `null`: no default (the key is unset unless configured). */
  readonly default: T | null;
  /** How the reference table shows the default, when the raw value would mislead. */
  readonly defaultDoc?: string;
  /** Never shown in messages or listings. */
  readonly secret?: boolean;
  /** Can also be read from a file: key `<key>File`, env `<ENV>_FILE`. */
  readonly fromFile?: boolean;
}

type SpecFields<T> = Omit<KeySpec<T>, "parse" | "default"> & { readonly parse: Parser<T> };

/** A key with a default: its value is never null. */
function setting<T>(spec: SpecFields<T> & { readonly default: NoInfer<T> }): KeySpec<T> & { readonly default: T } {
  return spec;
}

/** A key without a default: its value is null unless configured. */
function optional<T>(spec: SpecFields<T>): KeySpec<T> & { readonly default: null } {
  return { ...spec, default: null };
}

/** A secret that may also come from a file (`<key>File`, `<ENV>_FILE`). */
function secret<T>(spec: SpecFields<T>): KeySpec<T> & { readonly default: null } {
  return { ...spec, default: null, secret: true, fromFile: true };
}

const LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
  trace: "debug",
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
};

const DIALECTS: Readonly<Record<string, "sqlite" | "postgres">> = {
  sqlite: "sqlite",
  sqlite3: "sqlite",
  postgres: "postgres",
  postgresql: "postgres",
};

/**
 * Every configuration key, once. The file nests dotted keys (`db.dialect` is
 * `{"db": {"dialect": …}}`); the environment uses the Go bot's `HONOROIT_*` names.
 */
export const CONFIG_SCHEMA = {
  homeserver: optional({
    env: "HONOROIT_HOMESERVER",
    description: "Homeserver URL, e.g. https://matrix.example.com.",
    parse: httpUrl("https://matrix.example.com"),
  }),
  login: optional({
    env: "HONOROIT_LOGIN",
    description: "Bot login: a localpart (honoroit) with a password, a full Matrix ID (@honoroit:example.com) with a shared secret.",
    parse: matrixLogin(),
  }),
  password: secret({
    env: "HONOROIT_PASSWORD",
    description: "Bot password (one of password, sharedSecret, token).",
    parse: text(),
  }),
  sharedSecret: secret({
    env: "HONOROIT_SHAREDSECRET",
    description: "Shared secret for com.devture.shared_secret_auth login; needs login to be a full Matrix ID.",
    parse: text(),
  }),
  token: secret({
    env: "HONOROIT_TOKEN",
    description: "Access token; user and device are resolved with /account/whoami.",
    parse: text(),
  }),
  roomId: optional({
    env: "HONOROIT_ROOMID",
    description: "Operators room ID, where request threads are created, e.g. !abc:example.com.",
    parse: roomId(),
  }),
  prefix: setting({
    env: "HONOROIT_PREFIX",
    description: "Chat command prefix.",
    parse: text(),
    default: "!ho",
  }),
  port: setting({
    env: "HONOROIT_PORT",
    description: "HTTP port for /_health and /metrics (0: any free port). The Go bot's listen-address forms work too: `:8080` listens on every interface, `127.0.0.1:8080` on that address (the environment only).",
    parse: integer(0, 65535),
    default: 8080,
  }),
  host: setting({
    env: "HONOROIT_HOST",
    description: "Address the HTTP server for /_health and /metrics listens on: 127.0.0.1 is this machine only; 0.0.0.0 or :: is every interface (then protect /metrics with metrics.login and metrics.ips).",
    parse: ipAddress(),
    default: "127.0.0.1",
  }),
  dataSecret: secret({
    env: "HONOROIT_DATA_SECRET",
    description: "Key of the Go bot's encrypted account data (16, 24 or 32 bytes), needed to import it; when set, the saved access token and the encryption state are sealed with it.",
    parse: byteLength([16, 24, 32]),
  }),
  logLevel: setting({
    env: "HONOROIT_LOGLEVEL",
    description: "Log level: debug, info, warn or error (trace and warning are accepted).",
    parse: oneOf(LOG_LEVELS),
    default: "info",
  }),
  cacheSize: setting({
    env: "HONOROIT_CACHESIZE",
    description: "Maximum number of entries kept in in-memory caches.",
    parse: integer(1),
    default: 2000,
  }),
  noEncryptionWarning: setting({
    env: "HONOROIT_NOENCRYPTIONWARNING",
    description: "Do not tell customers when the bot cannot decrypt one of their messages.",
    parse: bool(),
    default: false,
  }),
  noEncryption: setting({
    env: "HONOROIT_NOENCRYPTION",
    description: "Turn end-to-end encryption off: the bot then cannot read or write in encrypted rooms.",
    parse: bool(),
    default: false,
  }),
  recoveryKey: secret({
    env: "HONOROIT_RECOVERY_KEY",
    description: "The recovery key `honoroit crypto recovery-key` showed: after losing the database, serve's new device restores the room keys from the account's key backup with it.",
    parse: recoveryKey(),
  }),
  "db.dialect": setting({
    env: "HONOROIT_DB_DIALECT",
    description: "Database: sqlite or postgres (sqlite3 and postgresql are accepted).",
    parse: oneOf(DIALECTS),
    default: "sqlite",
  }),
  "db.dsn": setting({
    env: "HONOROIT_DB_DSN",
    description:
      "SQLite: a file path (relative to the config file's folder, or the working folder). PostgreSQL: a postgres:// URL.",
    parse: text(),
    default: "honoroit.db",
    defaultDoc: "`honoroit.db` (SQLite)",
    secret: true,
    fromFile: true,
  }),
  "metrics.login": optional({
    env: "HONOROIT_METRICS_LOGIN",
    envAliases: ["HONOROIT_AUTH_METRICS_LOGIN"],
    description: "Basic auth login for /metrics.",
    parse: text(),
  }),
  "metrics.password": secret({
    env: "HONOROIT_METRICS_PASSWORD",
    envAliases: ["HONOROIT_AUTH_METRICS_PASSWORD"],
    description: "Basic auth password for /metrics.",
    parse: text(),
  }),
  "metrics.ips": optional({
    env: "HONOROIT_METRICS_IPS",
    envAliases: ["HONOROIT_AUTH_METRICS_IPS"],
    description: "IP addresses or CIDR ranges allowed to read /metrics, comma-separated (unset: any).",
    parse: ipList(),
  }),
  "metrics.customers": setting({
    env: "HONOROIT_METRICS_CUSTOMERS",
    description: "Label honoroit_messages_customer with each customer's Matrix ID (personal data, one series per customer); off, the series counts by source and homeserver only.",
    parse: bool(),
    default: false,
  }),
  "monitoring.healthchecks.url": setting({
    env: "HONOROIT_MONITORING_HEALTHCHECKS_URL",
    description: "Healthchecks ping URL: healthchecks.io's, or a self-hosted Healthchecks' (e.g. https://hc.example.com/ping).",
    parse: httpUrl("https://hc-ping.com"),
    default: "https://hc-ping.com",
  }),
  "monitoring.healthchecks.uuid": optional({
    env: "HONOROIT_MONITORING_HEALTHCHECKS_UUID",
    description: "Healthchecks check UUID: serve pings `/start` when it starts, the check at every interval while /_health is ok, `/fail` with the reason when it turns bad, and its exit code when it stops (unset: no pings).",
    parse: text(),
    secret: true,
  }),
  "monitoring.healthchecks.duration": setting({
    env: "HONOROIT_MONITORING_HEALTHCHECKS_DURATION",
    description: "Seconds between health checks for Healthchecks (the first one this long after start); set the check's period to match.",
    parse: integer(1),
    default: 60,
  }),
  "monitoring.sentry.dsn": optional({
    env: "HONOROIT_MONITORING_SENTRY_DSN",
    envAliases: ["HONOROIT_SENTRY"],
    description: "Sentry DSN: error log lines, and the error that stops serve, are reported there with secrets removed (unset: no error reporting).",
    parse: sentryDsn("https://key@o0.ingest.sentry.io/0"),
    secret: true,
  }),
  "monitoring.sentry.rate": setting({
    env: "HONOROIT_MONITORING_SENTRY_RATE",
    envAliases: ["HONOROIT_SENTRY_RATE"],
    description: "Percent of error reports sent to Sentry (0-100). The Go bot sampled performance traces with it, which are not sent here.",
    parse: decimal(0, 100),
    default: 100,
  }),
  "redmine.host": optional({
    env: "HONOROIT_REDMINE_HOST",
    description: "Redmine URL, e.g. https://redmine.example.com (unset: no Redmine sync).",
    parse: httpUrl("https://redmine.example.com"),
  }),
  "redmine.apiKey": secret({
    env: "HONOROIT_REDMINE_APIKEY",
    description: "Redmine API key.",
    parse: text(),
  }),
  "redmine.project": optional({
    env: "HONOROIT_REDMINE_PROJECT",
    description: "Redmine project identifier, e.g. internal-project.",
    parse: text(),
  }),
  "redmine.trackerId": optional({
    env: "HONOROIT_REDMINE_TRACKERID",
    description: "Redmine tracker ID for new issues.",
    parse: integer(1),
  }),
  "redmine.newStatusId": optional({
    env: "HONOROIT_REDMINE_NEWSTATUSID",
    description: "Redmine status ID for \"new\" (waiting for an operator).",
    parse: integer(1),
  }),
  "redmine.inProgressStatusId": optional({
    env: "HONOROIT_REDMINE_INPROGRESSSTATUSID",
    description: "Redmine status ID for \"in progress\" (waiting for the customer).",
    parse: integer(1),
  }),
  "redmine.doneStatusId": optional({
    env: "HONOROIT_REDMINE_DONESTATUSID",
    description: "Redmine status ID for \"done\".",
    parse: integer(1),
  }),
  "redmine.pollInterval": setting({
    env: "HONOROIT_REDMINE_POLLINTERVAL",
    description: "Seconds between polls of Redmine for notes and closed issues (one request when nothing changed).",
    parse: integer(1, 86_400),
    default: 60,
  }),
} as const satisfies Record<string, KeySpec<unknown>>;

// ---------------------------------------------------------------------------
// Types derived from the table.
// ---------------------------------------------------------------------------

export type ConfigSchema = typeof CONFIG_SCHEMA;
/** A dotted configuration key, e.g. `db.dialect`. */
export type ConfigKey = keyof ConfigSchema;

/** The value type of one key: the parser's result, or null when the key has no default. */
export type ConfigValue<K extends ConfigKey> =
  ConfigSchema[K] extends { readonly parse: Parser<infer T>; readonly default: infer D } ? (D extends null ? T | null : T) : never;

/** The configuration as a flat record of dotted keys. */
export type FlatConfig = { readonly [K in ConfigKey]: ConfigValue<K> };

type Head<K extends string> = K extends `${infer H}.${string}` ? H : K;
type Under<F, H extends string> = { [K in keyof F & string as K extends `${H}.${infer Rest}` ? Rest : never]: F[K] };
type Unflatten<F> = { readonly [H in Head<keyof F & string>]: H extends keyof F ? F[H] : Unflatten<Under<F, H>> };

/** The loaded configuration, nested like the file: `config.db.dialect`, `config.monitoring.sentry.rate`. */
export type HonoroitConfig = Unflatten<FlatConfig>;

// ---------------------------------------------------------------------------
// Lookups over the table.
// ---------------------------------------------------------------------------

/** Every key, in table order. */
export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as readonly ConfigKey[];

/** The spec of one key, widened for generic code. */
export function specOf(key: ConfigKey): KeySpec<unknown> {
  return CONFIG_SCHEMA[key];
}

/** The sibling key naming a file to read the value from: `password` → `passwordFile`. */
export function fileKeyOf(key: ConfigKey): string {
  return `${key}File`;
}

/** The environment variable naming a file to read the value from. */
export function fileEnvOf(key: ConfigKey): string {
  return `${specOf(key).env}_FILE`;
}

/** The command-line flag shown as a key's source: `db.dsn` → `--db-dsn`, `logLevel` → `--log-level`. */
export function flagNameOf(key: string): string {
  return `--${key.replace(/\./g, "-").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** The groups the file nests keys under: `db`, `monitoring`, `monitoring.sentry`, … */
export const CONFIG_GROUPS: ReadonlySet<string> = new Set(
  CONFIG_KEYS.flatMap((key) => {
    const parts = key.split(".");
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("."));
  }),
);

/** Nests a record of dotted keys: `{"db.dialect": x}` → `{db: {dialect: x}}`. */
export function nestDotted(flat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1] ?? key] = value;
  }
  return root;
}

/** Builds the nested configuration from a complete flat record. */
export function nestConfig(flat: FlatConfig): HonoroitConfig {
  // nestDotted writes exactly the shape Unflatten<FlatConfig> describes.
  return nestDotted(flat) as HonoroitConfig;
}

/** Reads one dotted key out of a nested configuration. */
export function configValue<K extends ConfigKey>(config: HonoroitConfig, key: K): ConfigValue<K> {
  let node: unknown = config;
  for (const part of key.split(".")) node = (node as Record<string, unknown>)[part];
  return node as ConfigValue<K>;
}
