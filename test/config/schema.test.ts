import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogLevel } from "../../src/core/ports.ts";
import type { RoomId } from "../../src/core/ids.ts";
import { CONFIG_KEYS, CONFIG_SCHEMA, flagNameOf, specOf } from "../../src/config/schema.ts";
import type { ConfigKey, HonoroitConfig } from "../../src/config/schema.ts";
import type { Origin } from "../../src/config/parsers.ts";

// The environment names in SPEC.md ("Environment"), written out in full, and the key each sets.
const SPEC_ENV: readonly (readonly [string, ConfigKey])[] = [
  ["HONOROIT_HOMESERVER", "homeserver"],
  ["HONOROIT_LOGIN", "login"],
  ["HONOROIT_PASSWORD", "password"],
  ["HONOROIT_SHAREDSECRET", "sharedSecret"],
  ["HONOROIT_TOKEN", "token"],
  ["HONOROIT_ROOMID", "roomId"],
  ["HONOROIT_PREFIX", "prefix"],
  ["HONOROIT_PORT", "port"],
  ["HONOROIT_DATA_SECRET", "dataSecret"],
  ["HONOROIT_LOGLEVEL", "logLevel"],
  ["HONOROIT_CACHESIZE", "cacheSize"],
  ["HONOROIT_NOENCRYPTIONWARNING", "noEncryptionWarning"],
  ["HONOROIT_DB_DSN", "db.dsn"],
  ["HONOROIT_DB_DIALECT", "db.dialect"],
  ["HONOROIT_METRICS_LOGIN", "metrics.login"],
  ["HONOROIT_METRICS_PASSWORD", "metrics.password"],
  ["HONOROIT_METRICS_IPS", "metrics.ips"],
  ["HONOROIT_MONITORING_HEALTHCHECKS_URL", "monitoring.healthchecks.url"],
  ["HONOROIT_MONITORING_HEALTHCHECKS_UUID", "monitoring.healthchecks.uuid"],
  ["HONOROIT_MONITORING_HEALTHCHECKS_DURATION", "monitoring.healthchecks.duration"],
  ["HONOROIT_MONITORING_SENTRY_DSN", "monitoring.sentry.dsn"],
  ["HONOROIT_MONITORING_SENTRY_RATE", "monitoring.sentry.rate"],
  ["HONOROIT_REDMINE_HOST", "redmine.host"],
  ["HONOROIT_REDMINE_APIKEY", "redmine.apiKey"],
  ["HONOROIT_REDMINE_PROJECT", "redmine.project"],
  ["HONOROIT_REDMINE_TRACKERID", "redmine.trackerId"],
  ["HONOROIT_REDMINE_NEWSTATUSID", "redmine.newStatusId"],
  ["HONOROIT_REDMINE_INPROGRESSSTATUSID", "redmine.inProgressStatusId"],
  ["HONOROIT_REDMINE_DONESTATUSID", "redmine.doneStatusId"],
];
// The Go bot reads these too, though SPEC.md does not list them.
const EXTRA_ENV: readonly (readonly [string, ConfigKey])[] = [
  ["HONOROIT_NOENCRYPTION", "noEncryption"],
  ["HONOROIT_HOST", "host"],
  ["HONOROIT_METRICS_CUSTOMERS", "metrics.customers"],
  ["HONOROIT_REDMINE_POLLINTERVAL", "redmine.pollInterval"],
  ["HONOROIT_RECOVERY_KEY", "recoveryKey"],
];

describe("config schema", () => {
  it("maps every SPEC environment name to its key", () => {
    for (const [env, key] of SPEC_ENV) {
      const found = CONFIG_KEYS.filter((k) => specOf(k).env === env);
      assert.deepEqual(found, [key], `${env} should set ${key}`);
    }
  });

  it("reads no environment name beyond SPEC's and the documented extras", () => {
    const documented = new Set([...SPEC_ENV, ...EXTRA_ENV].map(([env]) => env));
    for (const key of CONFIG_KEYS) assert.ok(documented.has(specOf(key).env), `${key} uses an undocumented ${specOf(key).env}`);
    assert.equal(CONFIG_KEYS.length, documented.size);
  });

  it("describes every key and gives secrets no default", () => {
    for (const key of CONFIG_KEYS) {
      const spec = specOf(key);
      assert.ok(spec.description.length > 10, `${key} needs a description`);
      assert.ok(!spec.description.includes("\n"), `${key}: one-line description`);
      if (spec.secret === true && key !== "db.dsn") assert.equal(spec.default, null, `${key} is secret`);
    }
  });

  it("lets exactly the brief's secrets come from files", () => {
    const fromFile = CONFIG_KEYS.filter((k) => specOf(k).fromFile === true);
    assert.deepEqual(fromFile, ["password", "sharedSecret", "token", "dataSecret", "recoveryKey", "db.dsn", "metrics.password", "redmine.apiKey"]);
  });

  it("names flags after keys", () => {
    const cases: [string, string][] = [
      ["logLevel", "--log-level"],
      ["db.dsn", "--db-dsn"],
      ["db.dsnFile", "--db-dsn-file"],
      ["monitoring.healthchecks.url", "--monitoring-healthchecks-url"],
      ["redmine.apiKey", "--redmine-api-key"],
    ];
    for (const [key, flag] of cases) assert.equal(flagNameOf(key), flag);
  });
});

type Row = readonly [key: ConfigKey, origin: Origin, raw: unknown, expected: { value: unknown } | { error: RegExp }];

const PARSE_CASES: readonly Row[] = [
  ["homeserver", "env", "https://matrix.example.com/", { value: "https://matrix.example.com" }],
  ["homeserver", "env", "http://localhost:8008", { value: "http://localhost:8008" }],
  ["homeserver", "env", "matrix.example.com", { error: /not a URL/ }],
  ["homeserver", "env", "ftp://example.com", { error: /not an http:\/\/ or https:\/\/ URL/ }],
  ["homeserver", "file", 42, { error: /expected a string, got number/ }],
  ["login", "env", "honoroit", { value: "honoroit" }],
  ["login", "env", "@honoroit:example.com", { value: "@honoroit:example.com" }],
  ["login", "env", "@honoroit", { error: /neither a localpart/ }],
  ["login", "env", "hono roit", { error: /neither a localpart/ }],
  ["login", "env", " honoroit", { error: /whitespace/ }],
  ["roomId", "env", "!abc:example.com", { value: "!abc:example.com" }],
  ["roomId", "env", "#ops:example.com", { error: /room alias/ }],
  ["roomId", "env", "abc:example.com", { error: /starting with "!"/ }],
  ["port", "env", "8080", { value: 8080 }],
  ["port", "env", "0", { value: 0 }],
  ["port", "file", 9000, { value: 9000 }],
  ["port", "file", "9000", { value: 9000 }],
  ["port", "env", "70000", { error: /between 0 and 65535/ }],
  ["port", "env", "80.5", { error: /not a whole number/ }],
  ["port", "env", "eighty", { error: /not a whole number/ }],
  ["port", "file", 80.5, { error: /not a whole number/ }],
  ["port", "file", true, { error: /expected a whole number, got boolean/ }],
  ["cacheSize", "env", "0", { error: /at least 1/ }],
  ["cacheSize", "env", "-5", { error: /at least 1/ }],
  ["dataSecret", "env", "0123456789abcdef", { value: "0123456789abcdef" }],
  ["dataSecret", "env", "0123456789abcdef01234567", { value: "0123456789abcdef01234567" }],
  ["dataSecret", "env", "0123456789abcdef0123456789abcdef", { value: "0123456789abcdef0123456789abcdef" }],
  ["dataSecret", "env", "0123456789", { error: /exactly 16, 24 or 32 bytes long, got 10/ }],
  ["dataSecret", "env", "ééééééééééééééé", { error: /got 30/ }],
  ["logLevel", "env", "INFO", { value: "info" }],
  ["logLevel", "env", "trace", { value: "debug" }],
  ["logLevel", "env", "Debug", { value: "debug" }],
  ["logLevel", "env", "WARNING", { value: "warn" }],
  ["logLevel", "env", "warn", { value: "warn" }],
  ["logLevel", "env", "ERROR", { value: "error" }],
  ["logLevel", "env", "verbose", { error: /not one of: trace, debug, info, warn, warning, error/ }],
  ["db.dialect", "env", "sqlite3", { value: "sqlite" }],
  ["db.dialect", "env", "sqlite", { value: "sqlite" }],
  ["db.dialect", "env", "postgres", { value: "postgres" }],
  ["db.dialect", "env", "postgresql", { value: "postgres" }],
  ["db.dialect", "env", "mysql", { error: /"mysql" is not one of/ }],
  ["metrics.ips", "env", "10.0.0.1, 192.168.0.0/16,::1,2001:db8::/32", { value: ["10.0.0.1", "192.168.0.0/16", "::1", "2001:db8::/32"] }],
  ["metrics.ips", "file", ["10.0.0.1", "fe80::/10"], { value: ["10.0.0.1", "fe80::/10"] }],
  ["metrics.ips", "env", "10.0.0.1,", { value: ["10.0.0.1"] }],
  ["metrics.ips", "env", "10.0.0.300", { error: /"10.0.0.300" is not an IP address or CIDR range/ }],
  ["metrics.ips", "env", "10.0.0.0/33", { error: /not an IP address or CIDR range/ }],
  ["metrics.ips", "env", "example.com", { error: /not an IP address/ }],
  ["metrics.ips", "file", [1], { error: /as strings/ }],
  ["monitoring.sentry.rate", "env", "12.5", { value: 12.5 }],
  ["monitoring.sentry.rate", "file", 100, { value: 100 }],
  ["monitoring.sentry.rate", "env", "101", { error: /between 0 and 100/ }],
  ["monitoring.healthchecks.duration", "env", "0", { error: /at least 1/ }],
  ["monitoring.sentry.dsn", "env", "not a url", { error: /\(value hidden\) is not a URL/ }],
  ["redmine.trackerId", "file", "3", { value: 3 }],
];

const BOOLEAN_CASES: readonly (readonly [Origin, unknown, boolean | RegExp])[] = [
  ...["yes", "true", "1", "y", "on", "YES", "True", "On"].map((raw) => ["env", raw, true] as const),
  ...["no", "false", "0", "n", "off", "NO", "False", "OFF"].map((raw) => ["env", raw, false] as const),
  ["env", "maybe", /not a yes\/no value/],
  ["flag", true, true],
  ["flag", "off", false],
  ["file", true, true],
  ["file", false, false],
  ["file", "yes", /expected true or false \(a JSON boolean\)/],
  ["file", 1, /expected true or false/],
];

describe("config parsers", () => {
  for (const [key, origin, raw, expected] of PARSE_CASES) {
    it(`${key} from ${origin}: ${JSON.stringify(raw)}`, () => {
      const spec = specOf(key);
      const result = spec.parse(raw, { origin, secret: spec.secret === true });
      if ("value" in expected) {
        assert.ok(result.ok, result.ok ? "" : result.message);
        assert.deepEqual(result.value, expected.value);
      } else {
        assert.ok(!result.ok, `expected a rejection, got ${JSON.stringify(result)}`);
        assert.match(result.message, expected.error);
      }
    });
  }

  for (const [origin, raw, expected] of BOOLEAN_CASES) {
    it(`a boolean from ${origin}: ${JSON.stringify(raw)}`, () => {
      for (const key of ["noEncryption", "noEncryptionWarning"] as const) {
        const result = specOf(key).parse(raw, { origin, secret: false });
        if (typeof expected === "boolean") assert.deepEqual(result, { ok: true, value: expected });
        else assert.match(result.ok ? "" : result.message, expected);
      }
    });
  }

  it("never shows a secret in a message", () => {
    for (const key of CONFIG_KEYS.filter((k) => specOf(k).secret === true)) {
      const secretValue = "hunter2 is my password";
      for (const raw of [secretValue, ` ${secretValue}`]) {
        const result = specOf(key).parse(raw, { origin: "env", secret: true });
        if (!result.ok) assert.ok(!result.message.includes("hunter2"), `${key}: ${result.message}`);
      }
    }
  });
});

// Compile-time checks that HonoroitConfig is derived with the intended shape (tsc fails otherwise).
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const shapeChecks: readonly true[] = [
  true satisfies Equal<HonoroitConfig["homeserver"], string | null>,
  true satisfies Equal<HonoroitConfig["port"], number>,
  true satisfies Equal<HonoroitConfig["logLevel"], LogLevel>,
  true satisfies Equal<HonoroitConfig["roomId"], RoomId | null>,
  true satisfies Equal<HonoroitConfig["noEncryption"], boolean>,
  true satisfies Equal<HonoroitConfig["db"]["dialect"], "sqlite" | "postgres">,
  true satisfies Equal<HonoroitConfig["db"]["dsn"], string>,
  true satisfies Equal<HonoroitConfig["metrics"]["ips"], readonly string[] | null>,
  true satisfies Equal<HonoroitConfig["monitoring"]["sentry"]["rate"], number>,
  true satisfies Equal<HonoroitConfig["monitoring"]["healthchecks"]["uuid"], string | null>,
  true satisfies Equal<HonoroitConfig["redmine"]["trackerId"], number | null>,
  true satisfies Equal<keyof HonoroitConfig["db"], "dialect" | "dsn">,
];

describe("the derived config type", () => {
  it("is checked at compile time", () => {
    assert.equal(shapeChecks.length, 12);
    assert.equal(Object.keys(CONFIG_SCHEMA).length, CONFIG_KEYS.length);
  });
});
