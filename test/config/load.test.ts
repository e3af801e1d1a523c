import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isHonoroitError } from "../../src/core/errors.ts";
import { encodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";
import { assertValid, requireMatrixLogin } from "../../src/config/load.ts";
import { load, problemFor, tempDir, writeJson } from "./load-fixture.ts";

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

describe("HONOROIT_PORT as the Go bot writes it", () => {
  const cases = [
    { raw: "8090", port: 8090, host: "127.0.0.1", hostSource: "default" },
    { raw: ":8090", port: 8090, host: "0.0.0.0", hostSource: "env HONOROIT_PORT" },
    { raw: "127.0.0.2:8091", port: 8091, host: "127.0.0.2", hostSource: "env HONOROIT_PORT" },
    { raw: "localhost:8092", port: 8092, host: "127.0.0.1", hostSource: "env HONOROIT_PORT" },
    { raw: "[::1]:8093", port: 8093, host: "::1", hostSource: "env HONOROIT_PORT" },
  ] as const;
  for (const c of cases) {
    it(`${JSON.stringify(c.raw)} listens on ${c.host} port ${c.port}`, async () => {
      const r = await load(undefined, { HONOROIT_PORT: c.raw });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.warnings, []);
      assert.equal(r.config.port, c.port);
      assert.equal(r.config.host, c.host);
      assert.equal(r.sources.get("host"), c.hostSource);
    });
  }

  it("an explicit HONOROIT_HOST wins over the address in HONOROIT_PORT, with a warning", async () => {
    const r = await load(undefined, { HONOROIT_PORT: ":8090", HONOROIT_HOST: "127.0.0.1" });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.host, "127.0.0.1");
    assert.equal(r.config.port, 8090);
    assert.match(problemFor(r.warnings, "host").message, /the address in HONOROIT_PORT \(""\) is ignored because HONOROIT_HOST is set/);
  });

  it("a listen address with a bad port or host says which", async () => {
    const badPort = await load(undefined, { HONOROIT_PORT: ":http" });
    assert.match(problemFor(badPort.errors, "port").message, /"http" is not a whole number/);
    const badHost = await load(undefined, { HONOROIT_PORT: "example.com:8080" });
    assert.match(problemFor(badHost.errors, "host").message, /"example.com" is not an IP address/);
    assert.equal(problemFor(badHost.errors, "host").source, "env HONOROIT_PORT");
  });
});

describe("the recovery key", () => {
  // A key as `honoroit crypto recovery-key` shows it: base58 in groups of four.
  const valid = encodeRecoveryKey(new Uint8Array(32).map((_, i) => (i * 37 + 11) % 256)) ?? "";

  it("is accepted as shown, spaces and all, and from a file with its newline", async () => {
    const r = await load({}, { HONOROIT_RECOVERY_KEY: valid });
    assert.deepEqual(r.errors, []);
    assert.equal(r.config.recoveryKey, valid);
    const dir = await tempDir();
    const file = await writeJson(dir, "recovery-key", `${valid}\n`);
    const fromFile = await load({}, { HONOROIT_RECOVERY_KEY_FILE: file });
    assert.deepEqual(fromFile.errors, []);
    assert.equal(fromFile.config.recoveryKey, valid);
  });

  it("with one character mistyped, is refused at load, naming the variable and not echoing the key", async () => {
    const at = valid.indexOf(" ") + 1;
    const typo = valid.slice(0, at) + (valid[at] === "x" ? "y" : "x") + valid.slice(at + 1);
    const r = await load({}, { HONOROIT_RECOVERY_KEY: typo });
    const p = problemFor(r.errors, "recoveryKey");
    assert.equal(p.source, "env HONOROIT_RECOVERY_KEY");
    assert.match(p.message, /not a valid recovery key \(incorrect parity\): check it for typing mistakes/);
    assert.ok(!JSON.stringify(r.errors).includes(typo.slice(0, 9)), "the key leaked into a message");
    assert.throws(() => assertValid(r), (e: unknown) => isHonoroitError(e) && e.code === "BAD_CONFIG");
  });
});
