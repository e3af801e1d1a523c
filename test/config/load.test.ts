import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { isHonoroitError } from "../../src/core/errors.ts";
import { assertValid, authMethod, loadConfig, requireMatrixLogin } from "../../src/config/load.ts";
import type { LoadResult, Problem } from "../../src/config/load.ts";

const made: string[] = [];
after(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-config-"));
  made.push(dir);
  return dir;
}

async function writeJson(dir: string, name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

/** Loads from a fresh temp folder holding `honoroit.config.json` (when given), with only `env`. */
async function load(
  file: unknown,
  env: NodeJS.ProcessEnv = {},
  flags: Record<string, unknown> = {},
): Promise<LoadResult & { dir: string; configPath: string }> {
  const dir = await tempDir();
  const configPath = path.join(dir, "honoroit.config.json");
  if (file !== undefined) await writeJson(dir, "honoroit.config.json", file);
  return { ...(await loadConfig({ cwd: dir, env, flags })), dir, configPath };
}

function problemFor(problems: readonly Problem[], key: string): Problem {
  const found = problems.find((p) => p.key === key);
  assert.ok(found, `expected a problem for ${key}, got ${JSON.stringify(problems, null, 2)}`);
  return found;
}

describe("loadConfig precedence", () => {
  const cases = [
    { layers: [], port: 8080, source: () => "default" },
    { layers: ["file"], port: 1001, source: (file: string) => `file ${file}` },
    { layers: ["file", "env"], port: 1002, source: () => "env HONOROIT_PORT" },
    { layers: ["file", "env", "flag"], port: 1003, source: () => "flag --port" },
    { layers: ["env", "flag"], port: 1003, source: () => "flag --port" },
    { layers: ["file", "flag"], port: 1003, source: () => "flag --port" },
  ] as const;
  for (const { layers, port, source } of cases) {
    it(`${layers.join(" + ") || "nothing set"} → ${port}`, async () => {
      const has = (layer: string) => (layers as readonly string[]).includes(layer);
      const r = await load(
        has("file") ? { port: 1001, logLevel: "warn" } : undefined,
        has("env") ? { HONOROIT_PORT: "1002", HONOROIT_LOGLEVEL: "error" } : {},
        has("flag") ? { port: "1003", logLevel: "debug" } : {},
      );
      assert.deepEqual(r.errors, []);
      assert.equal(r.config.port, port);
      assert.equal(r.sources.get("port"), source(r.configPath));
      const level = has("flag") ? "debug" : has("env") ? "error" : has("file") ? "warn" : "info";
      assert.equal(r.config.logLevel, level);
      assert.equal(r.file, has("file") ? r.configPath : undefined);
    });
  }

  it("reports the flag name for dotted keys", async () => {
    const r = await load({ db: { dialect: "sqlite" } }, { HONOROIT_DB_DIALECT: "sqlite3" }, { "db.dialect": "sqlite", logLevel: "warn" });
    assert.equal(r.sources.get("db.dialect"), "flag --db-dialect");
    assert.equal(r.sources.get("logLevel"), "flag --log-level");
  });

  it("treats an empty environment variable and a null in the file as unset", async () => {
    const r = await load({ prefix: null, port: 9000 }, { HONOROIT_PORT: "", HONOROIT_PREFIX: "" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.port, 9000);
    assert.equal(r.config.prefix, "!ho");
  });

  it("ignores flags left undefined by the parser", async () => {
    const r = await load(undefined, {}, { logLevel: undefined });
    assert.deepEqual(r.errors, []);
    assert.equal(r.sources.get("logLevel"), "default");
  });
});

describe("loadConfig problems", () => {
  it("reports every problem at once, each with its key and source", async () => {
    const r = await load(
      {
        homeserver: "matrix.example.com",
        port: 70000,
        prefix: 5,
        dataSecret: "0123456789",
        db: { dialet: "sqlite", dialect: "mysql" },
      },
      { HONOROIT_CACHESIZE: "lots", HONOROIT_NOENCRYPTION: "maybe" },
    );
    const file = `file ${r.configPath}`;
    const expected: [string, string, RegExp][] = [
      ["db.dialet", file, /unknown key "db.dialet" in file .*honoroit\.config\.json; did you mean db\.dialect\?/],
      ["homeserver", file, /not a URL/],
      ["port", file, /out of range/],
      ["prefix", file, /expected a string, got number/],
      ["dataSecret", file, /exactly 16, 24 or 32 bytes long, got 10/],
      ["db.dialect", file, /"mysql" is not one of/],
      ["cacheSize", "env HONOROIT_CACHESIZE", /"lots" is not a whole number/],
      ["noEncryption", "env HONOROIT_NOENCRYPTION", /not a yes\/no value/],
    ];
    for (const [key, source, message] of expected) {
      const p = problemFor(r.errors, key);
      assert.equal(p.source, source, key);
      assert.match(p.message, message);
    }
    assert.equal(r.errors.length, expected.length, JSON.stringify(r.errors, null, 2));
    assert.ok(!JSON.stringify(r.errors).includes("0123456789"), "a secret leaked into a message");

    assert.throws(
      () => assertValid(r),
      (e: unknown) => {
        assert.ok(isHonoroitError(e));
        assert.equal(e.code, "BAD_CONFIG");
        assert.equal(e.exitCode, 2);
        assert.equal(e.message, `configuration has ${expected.length} problems`);
        assert.equal(e.details.length, expected.length);
        assert.ok(e.details.includes(`port (${file}): 70000 is out of range (must be between 0 and 65535)`), e.details.join("\n"));
        return true;
      },
    );
  });

  it("keeps defaults for keys with problems, so the result is still well-formed", async () => {
    const r = await load({ port: "many" });
    assert.equal(r.config.port, 8080);
    assert.equal(r.sources.get("port"), "default");
  });

  it("returns the config from assertValid when there is no problem", async () => {
    const r = await load({ port: 9000 });
    assert.equal(assertValid(r).port, 9000);
  });

  const fileCases: [string, unknown, RegExp][] = [
    ["a nested unknown key", { monitoring: { sentry: { rat: 5 } } }, /unknown key "monitoring\.sentry\.rat".*did you mean monitoring\.sentry\.rate\?/],
    ["a wrongly cased key", { roomid: "!a:b" }, /unknown key "roomid".*did you mean roomId\?/],
    ["a key far from any", { colour: "blue" }, /^unknown key "colour" in file [^;]*$/],
    ["a dotted key", { "db.dialect": "sqlite" }, /keys are nested in the file: write \{"db": \{"dialect": …\}\}/],
    ["a group that is not an object", { db: "sqlite" }, /expected an object holding the db\.\* settings/],
    ["an array at the top", [1, 2], /expected a JSON object at the top level/],
    ["invalid JSON", "{ port: 80 ", /not valid JSON/],
    ["a boolean written as a string", { noEncryption: "yes" }, /expected true or false \(a JSON boolean\), got "yes"/],
    ["a list of IPs with a bad one", { metrics: { ips: ["10.0.0.1", "nope"] } }, /"nope" is not an IP address/],
  ];
  for (const [name, content, message] of fileCases) {
    it(`rejects ${name} in the file`, async () => {
      const r = await load(content);
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors, null, 2));
      assert.match(r.errors[0]!.message, message);
      assert.equal(r.errors[0]!.source, `file ${r.configPath}`);
    });
  }

  it("accepts numbers as numeric strings in the file", async () => {
    const r = await load({ port: "9000", monitoring: { sentry: { rate: "5.5" } } });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.port, 9000);
    assert.equal(r.config.monitoring.sentry.rate, 5.5);
  });

  it("rejects unknown flags", async () => {
    const r = await load(undefined, {}, { logLevl: "debug" });
    const p = problemFor(r.errors, "logLevl");
    assert.equal(p.source, "flag --log-levl");
    assert.match(p.message, /did you mean logLevel\?/);
  });

  it("warns about unknown HONOROIT_* variables but not about known ones or _FILE variants", async () => {
    const dir = await tempDir();
    const secret = await writeJson(dir, "pw", "pw\n");
    const r = await load(undefined, {
      HONOROIT_PORTT: "1",
      HONOROIT_PORT_FILE: "/nowhere",
      HONOROIT_PASSWORD_FILE: secret,
      HONOROIT_LOGIN: "bot",
      HONOROIT_PORT: "1",
      PATH: "/usr/bin",
    });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.warnings.map((w) => w.key),
      ["HONOROIT_PORTT", "HONOROIT_PORT_FILE"],
    );
    assert.match(problemFor(r.warnings, "HONOROIT_PORTT").message, /unknown environment variable HONOROIT_PORTT; did you mean HONOROIT_PORT\?/);
    assert.match(problemFor(r.warnings, "HONOROIT_PORT_FILE").message, /only secrets can be read from a file/);
    assert.equal(problemFor(r.warnings, "HONOROIT_PORTT").source, "env HONOROIT_PORTT");
  });

  it("accepts the Go bot's older variable names with a warning", async () => {
    const r = await load(undefined, { HONOROIT_SENTRY: "https://key@sentry.example.com/1", HONOROIT_AUTH_METRICS_LOGIN: "prom", HONOROIT_METRICS_PASSWORD: "x" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.monitoring.sentry.dsn, "https://key@sentry.example.com/1");
    assert.equal(r.sources.get("monitoring.sentry.dsn"), "env HONOROIT_SENTRY");
    assert.equal(r.config.metrics.login, "prom");
    assert.match(problemFor(r.warnings, "monitoring.sentry.dsn").message, /older name for HONOROIT_MONITORING_SENTRY_DSN/);
  });
});

describe("loadConfig finds the file", () => {
  const places: [string, (dir: string) => Promise<string>][] = [
    ["honoroit.config.json", (dir) => writeJson(dir, "honoroit.config.json", { prefix: "!a" })],
    [".honoroitrc", (dir) => writeJson(dir, ".honoroitrc", { prefix: "!a" })],
    [".honoroitrc.json", (dir) => writeJson(dir, ".honoroitrc.json", { prefix: "!a" })],
    [".config/honoroitrc.json", (dir) => writeJson(dir, ".config/honoroitrc.json", { prefix: "!a" })],
    ["package.json", (dir) => writeJson(dir, "package.json", { name: "x", honoroit: { prefix: "!a" } })],
  ];
  for (const [name, write] of places) {
    it(`in ${name}`, async () => {
      const dir = await tempDir();
      const file = await write(dir);
      const r = await loadConfig({ cwd: dir, env: {} });
      assert.deepEqual(r.errors, []);
      assert.equal(r.file, file);
      assert.equal(r.config.prefix, "!a");
      assert.equal(r.sources.get("prefix"), `file ${file}`);
    });
  }

  it("prefers honoroit.config.json and ignores a package.json without the key", async () => {
    const dir = await tempDir();
    await writeJson(dir, "package.json", { name: "x" });
    const r1 = await loadConfig({ cwd: dir, env: {} });
    assert.equal(r1.file, undefined);
    await writeJson(dir, ".honoroitrc", { prefix: "!rc" });
    const main = await writeJson(dir, "honoroit.config.json", { prefix: "!main" });
    const r2 = await loadConfig({ cwd: dir, env: {} });
    assert.equal(r2.file, main);
    assert.equal(r2.config.prefix, "!main");
  });

  it("does not search parent folders", async () => {
    const dir = await tempDir();
    await writeJson(dir, "honoroit.config.json", { prefix: "!parent" });
    const child = path.join(dir, "child");
    await mkdir(child);
    const r = await loadConfig({ cwd: child, env: {} });
    assert.equal(r.file, undefined);
  });

  it("loads an explicit file, relative to cwd", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "conf/bot.json", { prefix: "!x" });
    await writeJson(dir, "honoroit.config.json", { prefix: "!searched" });
    const r = await loadConfig({ cwd: dir, env: {}, configFile: "conf/bot.json" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.file, file);
    assert.equal(r.config.prefix, "!x");
  });

  it("reports a missing explicit file, and still checks the rest", async () => {
    const dir = await tempDir();
    const r = await loadConfig({ cwd: dir, env: { HONOROIT_PORT: "x" }, configFile: "missing.json" });
    const p = problemFor(r.errors, "config");
    assert.equal(p.source, "flag --config");
    assert.equal(p.message, `config file not found: ${path.join(dir, "missing.json")}`);
    problemFor(r.errors, "port");
  });

  it("never runs a JavaScript config file", async () => {
    const dir = await tempDir();
    const marker = path.join(dir, "ran");
    await writeJson(dir, "honoroit.config.js", `require("fs").writeFileSync(${JSON.stringify(marker)}, "x"); module.exports = {};`);
    const r = await loadConfig({ cwd: dir, env: {}, configFile: "honoroit.config.js" });
    assert.match(problemFor(r.errors, "config").message, /only JSON config files are read/);
    const searched = await loadConfig({ cwd: dir, env: {} });
    assert.equal(searched.file, undefined);
    await assert.rejects(import("node:fs/promises").then((fs) => fs.access(marker)));
  });

  it("takes an empty config file as no settings", async () => {
    const r = await load("");
    assert.deepEqual(r.errors, []);
    assert.equal(r.file, r.configPath);
  });
});

describe("loadConfig secrets from files", () => {
  it("reads a secret from the file named by the _FILE variable, trimming the trailing newline", async () => {
    const dir = await tempDir();
    const secret = await writeJson(dir, "secrets/password", "s3cret pass\n");
    const r = await load(undefined, { HONOROIT_PASSWORD_FILE: secret });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.password, "s3cret pass");
    assert.equal(r.sources.get("password"), "env HONOROIT_PASSWORD_FILE");
  });

  const keyCases = [
    ["password", "passwordFile", "HONOROIT_PASSWORD_FILE"],
    ["sharedSecret", "sharedSecretFile", "HONOROIT_SHAREDSECRET_FILE"],
    ["token", "tokenFile", "HONOROIT_TOKEN_FILE"],
    ["dataSecret", "dataSecretFile", "HONOROIT_DATA_SECRET_FILE"],
    ["metrics.password", "metrics.passwordFile", "HONOROIT_METRICS_PASSWORD_FILE"],
    ["redmine.apiKey", "redmine.apiKeyFile", "HONOROIT_REDMINE_APIKEY_FILE"],
  ] as const;
  for (const [key, fileKey, envName] of keyCases) {
    it(`reads ${key} from ${fileKey} (relative to the config file) and from ${envName}`, async () => {
      const value = "0123456789abcdef"; // also a valid dataSecret
      const dir = await tempDir();
      await writeJson(dir, "conf/secret.txt", `${value}\r\n`);
      const nested = fileKey.includes(".") ? { [fileKey.split(".")[0]!]: { [fileKey.split(".")[1]!]: "secret.txt" } } : { [fileKey]: "secret.txt" };
      const file = await writeJson(dir, "conf/honoroit.config.json", nested);
      const fromFile = await loadConfig({ cwd: dir, env: {}, configFile: file });
      const flatValue = (r: LoadResult) => key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], r.config);
      assert.equal(flatValue(fromFile), value, JSON.stringify(fromFile.errors));
      assert.equal(fromFile.sources.get(key), `file ${file}`);

      const fromEnv = await loadConfig({ cwd: dir, env: { [envName]: "conf/secret.txt" } });
      assert.equal(flatValue(fromEnv), value, JSON.stringify(fromEnv.errors));
      assert.equal(fromEnv.sources.get(key), `env ${envName}`);
    });
  }

  it("reads db.dsn from a file too", async () => {
    const dir = await tempDir();
    const dsnFile = await writeJson(dir, "dsn", "postgres://bot:pw@db.example.com/honoroit\n");
    const r = await load(undefined, { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN_FILE: dsnFile });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.db.dsn, "postgres://bot:pw@db.example.com/honoroit");
  });

  it("rejects a value and its file set together", async () => {
    const dir = await tempDir();
    const secret = await writeJson(dir, "pw", "a");
    const r = await load({ token: "t", tokenFile: secret }, { HONOROIT_PASSWORD: "p", HONOROIT_PASSWORD_FILE: secret });
    assert.match(problemFor(r.errors, "password").message, /both password and passwordFile are set \(env HONOROIT_PASSWORD_FILE\); set only one/);
    assert.equal(problemFor(r.errors, "password").source, "env HONOROIT_PASSWORD");
    assert.match(problemFor(r.errors, "token").message, /both token and tokenFile are set/);
  });

  it("lets a higher layer's file override a lower layer's value", async () => {
    const dir = await tempDir();
    const secret = await writeJson(dir, "pw", "from-file");
    const r = await load({ password: "in-config" }, { HONOROIT_PASSWORD_FILE: secret });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.password, "from-file");
  });

  it("reports an unreadable file naming the key and the path", async () => {
    const dir = await tempDir();
    const missing = path.join(dir, "nope");
    const r = await load(undefined, { HONOROIT_REDMINE_APIKEY_FILE: missing, HONOROIT_REDMINE_HOST: "https://redmine.example.com", HONOROIT_REDMINE_PROJECT: "p" });
    const p = problemFor(r.errors, "redmine.apiKey");
    assert.equal(p.source, "env HONOROIT_REDMINE_APIKEY_FILE");
    assert.equal(p.message, `cannot read redmine.apiKeyFile ${missing} (ENOENT)`);
  });

  it("reports an empty secret file", async () => {
    const dir = await tempDir();
    const empty = await writeJson(dir, "empty", "\n");
    const r = await load(undefined, { HONOROIT_TOKEN_FILE: empty });
    assert.match(problemFor(r.errors, "token").message, /is empty/);
  });

  it("checks a secret read from a file like any other value", async () => {
    const dir = await tempDir();
    const short = await writeJson(dir, "key", "0123456789\n");
    const r = await load(undefined, { HONOROIT_DATA_SECRET_FILE: short });
    assert.match(problemFor(r.errors, "dataSecret").message, /got 10/);
  });
});

describe("loadConfig database", () => {
  const dialects: [string, "sqlite" | "postgres"][] = [
    ["sqlite3", "sqlite"],
    ["sqlite", "sqlite"],
    ["SQLite3", "sqlite"],
    ["postgres", "postgres"],
    ["postgresql", "postgres"],
  ];
  for (const [given, dialect] of dialects) {
    it(`accepts dialect ${given}`, async () => {
      const dsn = dialect === "postgres" ? "postgresql://bot@localhost/honoroit" : "bot.db";
      const r = await load(undefined, { HONOROIT_DB_DIALECT: given, HONOROIT_DB_DSN: dsn });
      assert.deepEqual(r.errors, []);
      assert.equal(r.config.db.dialect, dialect);
    });
  }

  it("puts the default SQLite file in the working folder when there is no config file", async () => {
    const r = await load(undefined);
    assert.equal(r.config.db.dsn, path.join(r.dir, "honoroit.db"));
    assert.equal(r.sources.get("db.dsn"), "default");
  });

  it("puts the default SQLite file next to the config file", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "etc/honoroit.config.json", { prefix: "!x" });
    const r = await loadConfig({ cwd: dir, env: {}, configFile: file });
    assert.equal(r.config.db.dsn, path.join(dir, "etc", "honoroit.db"));
  });

  it("resolves a relative path from the file against the file's folder, from env against cwd", async () => {
    const dir = await tempDir();
    const file = await writeJson(dir, "etc/honoroit.config.json", { db: { dsn: "data/bot.db" } });
    const fromFile = await loadConfig({ cwd: dir, env: {}, configFile: file });
    assert.equal(fromFile.config.db.dsn, path.join(dir, "etc", "data", "bot.db"));
    const fromEnv = await loadConfig({ cwd: dir, env: { HONOROIT_DB_DSN: "data/bot.db" }, configFile: file });
    assert.equal(fromEnv.config.db.dsn, path.join(dir, "data", "bot.db"));
    const absolute = await loadConfig({ cwd: dir, env: { HONOROIT_DB_DSN: "/var/lib/honoroit/bot.db" } });
    assert.equal(absolute.config.db.dsn, "/var/lib/honoroit/bot.db");
  });

  it("keeps :memory: and drops the Go driver's file: prefix and options with a warning", async () => {
    const memory = await load(undefined, { HONOROIT_DB_DSN: ":memory:" });
    assert.equal(memory.config.db.dsn, ":memory:");
    const go = await load(undefined, { HONOROIT_DB_DSN: "file:/data/honoroit.db?_txlock=immediate" });
    assert.deepEqual(go.errors, []);
    assert.equal(go.config.db.dsn, "/data/honoroit.db");
    assert.match(problemFor(go.warnings, "db.dsn").message, /options after "\?" are ignored/);
  });

  const postgresCases: [string, NodeJS.ProcessEnv, RegExp][] = [
    ["postgres without a dsn", { HONOROIT_DB_DIALECT: "postgres" }, /required when db\.dialect is postgres \(env HONOROIT_DB_DIALECT\)/],
    ["postgres with a key=value dsn", { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "host=db user=bot" }, /expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ["postgres with a mysql URL", { HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "mysql://db/x" }, /expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ["sqlite with a postgres URL", { HONOROIT_DB_DSN: "postgres://bot:pw@db/x" }, /is a PostgreSQL URL but db\.dialect is sqlite \(default\)/],
  ];
  for (const [name, env, message] of postgresCases) {
    it(`rejects ${name}`, async () => {
      const r = await load(undefined, env);
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors));
      assert.match(problemFor(r.errors, "db.dsn").message, message);
      assert.ok(!JSON.stringify(r.errors).includes("pw@"), "the dsn's password leaked");
    });
  }
});

describe("loadConfig cross-field rules", () => {
  it("warns when several login methods are set and names the one used", async () => {
    const r = await load(undefined, { HONOROIT_LOGIN: "@bot:example.com", HONOROIT_PASSWORD: "p", HONOROIT_SHAREDSECRET: "s" });
    assert.deepEqual(r.errors, []);
    assert.equal(authMethod(r.config), "sharedSecret");
    const w = problemFor(r.warnings, "sharedSecret");
    assert.equal(w.message, "sharedSecret, password are all set; sharedSecret is used and the others are ignored");
  });

  it("requires a full Matrix ID with a shared secret", async () => {
    const r = await load(undefined, { HONOROIT_LOGIN: "bot", HONOROIT_SHAREDSECRET: "s" });
    const p = problemFor(r.errors, "login");
    assert.equal(p.source, "env HONOROIT_LOGIN");
    assert.match(p.message, /must be a full Matrix ID/);
  });

  it("accepts a localpart or a full Matrix ID with a password", async () => {
    for (const login of ["bot", "@bot:example.com"]) {
      const r = await load(undefined, { HONOROIT_LOGIN: login, HONOROIT_PASSWORD: "p" });
      assert.deepEqual(r.errors, []);
      assert.equal(authMethod(r.config), "password");
    }
  });

  it("needs both metrics login and password", async () => {
    const r = await load({ metrics: { login: "prom" } });
    assert.match(problemFor(r.errors, "metrics.password").message, /required when metrics\.login is set/);
    const r2 = await load({ metrics: { password: "x" } });
    assert.match(problemFor(r2.errors, "metrics.login").message, /required when metrics\.password is set/);
  });

  it("needs host, apiKey and project once any Redmine key is set", async () => {
    const r = await load({ redmine: { trackerId: 2 } });
    assert.deepEqual(r.errors.map((e) => e.key).sort(), ["redmine.apiKey", "redmine.host", "redmine.project"]);
    assert.match(problemFor(r.errors, "redmine.host").message, /because redmine\.trackerId is set \(HONOROIT_REDMINE_HOST\)/);
    const full = await load({ redmine: { host: "https://redmine.example.com/", apiKey: "k", project: "support" } });
    assert.deepEqual(full.errors, []);
    assert.equal(full.config.redmine.host, "https://redmine.example.com");
  });
});

describe("requireMatrixLogin", () => {
  it("names every missing setting and its variable in one error", async () => {
    const r = await load(undefined);
    assert.throws(
      () => requireMatrixLogin(r.config),
      (e: unknown) => {
        assert.ok(isHonoroitError(e));
        assert.equal(e.code, "BAD_CONFIG");
        assert.equal(e.details.length, 4, e.details.join("\n"));
        for (const text of ["homeserver", "HONOROIT_HOMESERVER", "HONOROIT_PASSWORD", "HONOROIT_SHAREDSECRET", "HONOROIT_TOKEN", "HONOROIT_LOGIN", "roomId", "HONOROIT_ROOMID"]) {
          assert.ok(e.details.some((d) => d.includes(text)), `no detail mentions ${text}`);
        }
        return true;
      },
    );
  });

  it("returns the login with password", async () => {
    const r = await load({ homeserver: "https://m.example.com", login: "bot", roomId: "!ops:example.com" }, { HONOROIT_PASSWORD: "p" });
    assert.deepEqual(requireMatrixLogin(r.config), {
      homeserver: "https://m.example.com",
      login: "bot",
      auth: { method: "password", password: "p" },
      roomId: "!ops:example.com",
    });
  });

  it("needs no login with a token", async () => {
    const r = await load({ homeserver: "https://m.example.com", roomId: "!ops:example.com" }, { HONOROIT_TOKEN: "syt_x" });
    const login = requireMatrixLogin(r.config);
    assert.equal(login.login, null);
    assert.deepEqual(login.auth, { method: "token", token: "syt_x" });
  });

  it("asks for the login without a token", async () => {
    const r = await load({ homeserver: "https://m.example.com", roomId: "!ops:example.com" }, { HONOROIT_PASSWORD: "p" });
    assert.throws(() => requireMatrixLogin(r.config), (e: unknown) => isHonoroitError(e) && e.details.length === 1 && e.details[0]!.startsWith("login:"));
  });
});
