import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import type { LoadResult } from "../../src/config/load.ts";
import { load, problemFor, tempDir, writeJson } from "./load-fixture.ts";

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
