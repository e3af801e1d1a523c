// serve's monitoring, put together from a loaded configuration: what reaches a local
// Healthchecks and a local Sentry over one run, and what a run without them does.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertValid } from "../../src/config/load.ts";
import type { HonoroitConfig } from "../../src/config/schema.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import { configSecrets, startMonitoring } from "../../src/serve/monitoring.ts";
import { load } from "../config/load-fixture.ts";
import { MemoryLogger } from "../support/helpdesk-fixture.ts";
import { RecordingServer } from "../support/recording-server.ts";
import { waitFor } from "../support/synapse.ts";

const UUID = "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5";

async function config(env: Record<string, string>): Promise<HonoroitConfig> {
  return assertValid(await load(undefined, env));
}

describe("serve's monitoring", () => {
  let server: RecordingServer;
  before(async () => {
    server = await RecordingServer.start();
  });
  after(() => server.close());

  it("with neither a UUID nor a DSN: the same logger, nothing sent", async () => {
    const logger = new MemoryLogger();
    const m = await startMonitoring(await config({}), logger);
    assert.equal(m.logger, logger, "no reporting logger wraps it");
    m.watch(() => Promise.resolve({ status: "ok", checks: {} }));
    m.logger.error("something broke");
    await m.stopped(new Error("boom"));
    assert.equal(server.requests.length, 0);
  });

  it("pings start, the checks and the exit code; reports error lines and the error that ends serve", async () => {
    server.requests.length = 0;
    const logger = new MemoryLogger();
    const cfg = await config({
      HONOROIT_MONITORING_HEALTHCHECKS_URL: `${server.url}/hc`,
      HONOROIT_MONITORING_HEALTHCHECKS_UUID: UUID,
      HONOROIT_MONITORING_HEALTHCHECKS_DURATION: "1",
      HONOROIT_MONITORING_SENTRY_DSN: `http://sentrykey@${server.url.slice("http://".length)}/7`,
      HONOROIT_PASSWORD: "the bot's password 123",
    });
    const m = await startMonitoring(cfg, logger);
    assert.notEqual(m.logger, logger);
    m.watch(() => Promise.resolve({ status: "ok", checks: { homeserver: { ok: true } } }));
    await waitFor(() => (server.to(`/hc/${UUID}`).some((r) => r.path === `/hc/${UUID}`) ? true : undefined), { what: "a periodic ping", timeoutMs: 5_000 });
    m.logger.error("login failed with the bot's password 123", { room: "!ops:example.com" });
    m.logger.warn("only a warning");
    await m.stopped(new HonoroitError("BUSY", "another honoroit serve is using this database"));

    const hc = server.to("/hc/").map((r) => r.path);
    assert.equal(hc[0], `/hc/${UUID}/start`);
    assert.equal(hc.at(-1), `/hc/${UUID}/4`, "the exit code of a BUSY error");
    assert.equal(server.to("/hc/").at(-1)?.body, "honoroit serve stopped with exit code 4: another honoroit serve is using this database");
    const envelopes = server.to("/api/7/envelope/").map((r) => r.body);
    assert.equal(envelopes.length, 2, "the error line and the error that ended serve; not the warning");
    assert.match(envelopes[0] ?? "", /"formatted":"login failed with \[redacted\]"/);
    assert.match(envelopes[1] ?? "", /"level":"fatal".*"value":"another honoroit serve is using this database"/s);
    assert.ok(!envelopes.join("").includes("password 123"));
    assert.ok(logger.lines.some((l) => l.level === "error" && l.message === "login failed with the bot's password 123"), "the line is still logged");
  });

  it("a clean stop pings exit code 0", async () => {
    server.requests.length = 0;
    const m = await startMonitoring(await config({ HONOROIT_MONITORING_HEALTHCHECKS_URL: server.url, HONOROIT_MONITORING_HEALTHCHECKS_UUID: UUID }), new MemoryLogger());
    await m.stopped();
    assert.deepEqual(server.requests.map((r) => r.path), [`/${UUID}/start`, `/${UUID}/0`]);
  });

  it("scrubs every configured secret; a SQLite path is not one, a PostgreSQL DSN and its password are", async () => {
    const sqlite = await config({ HONOROIT_PASSWORD: "pw-1", HONOROIT_DATA_SECRET: "0123456789abcdef", HONOROIT_METRICS_LOGIN: "prometheus", HONOROIT_METRICS_PASSWORD: "pw-2", HONOROIT_DB_DSN: "/var/lib/honoroit/honoroit.db" });
    assert.deepEqual(configSecrets(sqlite).sort(), ["0123456789abcdef", "pw-1", "pw-2"]);
    const pg = await config({ HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: "postgres://bot:p%40ss@db/honoroit", HONOROIT_TOKEN: "tok-1" });
    assert.deepEqual(configSecrets(pg).sort(), ["p@ss", "p%40ss", "postgres://bot:p%40ss@db/honoroit", "tok-1"].sort());
  });

  it("refuses a Sentry DSN without a key or a project at load, without showing it", async () => {
    const r = await load(undefined, { HONOROIT_MONITORING_SENTRY_DSN: "https://sentry.example.com/1" });
    const problem = r.errors.find((p) => p.key === "monitoring.sentry.dsn");
    assert.match(problem?.message ?? "", /^\(value hidden\) is not a Sentry DSN: it needs the key before @ and the project id at the end/);
  });
});
