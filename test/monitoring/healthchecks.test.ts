// The healthchecks.io pinger against a local server that records each ping.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { HealthchecksPinger, type HealthSnapshot } from "../../src/adapters/monitoring/healthchecks.ts";
import { Scrubber } from "../../src/adapters/monitoring/scrub.ts";
import { MemoryLogger } from "../support/helpdesk-fixture.ts";
import { RecordingServer } from "../support/recording-server.ts";
import { freePort } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";

const UUID = "5f4b2a1e-1111-4c2d-9e3f-0123456789ab";
const OK: HealthSnapshot = { status: "ok", checks: { homeserver: { ok: true }, database: { ok: true } } };
const DOWN: HealthSnapshot = { status: "degraded", checks: { homeserver: { ok: false, detail: "fetch failed: connect ECONNREFUSED" }, database: { ok: true } } };
const STANDBY: HealthSnapshot = { status: "standby", checks: { database: { ok: true }, active: { ok: false, detail: "standby" } } };

describe("healthchecks.io pings", () => {
  let hc: RecordingServer;
  let logger: MemoryLogger;
  const pinger = (extra: { url?: string; everyMs?: number; scrub?: (t: string) => string } = {}): HealthchecksPinger =>
    new HealthchecksPinger({ url: extra.url ?? `${hc.url}/ping`, uuid: UUID, everyMs: extra.everyMs ?? 60_000, logger, ...(extra.scrub === undefined ? {} : { scrub: extra.scrub }) });
  const pings = (): string[] => hc.requests.map((r) => `${r.method} ${r.path}`);

  before(async () => {
    hc = await RecordingServer.start();
  });
  after(() => hc.close());
  beforeEach(() => {
    hc.requests.length = 0;
    hc.status = 200;
    logger = new MemoryLogger();
  });

  it("pings /start, the check itself while healthy, and the exit code", async () => {
    const p = pinger();
    assert.equal(await p.start("honoroit serve starting"), true);
    await p.check(() => Promise.resolve(OK));
    await p.check(() => Promise.resolve(OK));
    assert.equal(await p.exit(0, "honoroit serve stopped"), true);
    assert.deepEqual(pings(), [`POST /ping/${UUID}/start`, `POST /ping/${UUID}`, `POST /ping/${UUID}`, `POST /ping/${UUID}/0`]);
    assert.equal(hc.requests[0]?.body, "honoroit serve starting");
    assert.equal(hc.requests[3]?.body, "honoroit serve stopped");
  });

  it("pings /fail with the reason when health turns bad, again only when other checks fail, and the check once it is ok", async () => {
    const p = pinger();
    const worse: HealthSnapshot = { status: "degraded", checks: { homeserver: { ok: false, detail: "fetch failed: timeout" }, database: { ok: false, detail: "SQLITE_BUSY" } } };
    await p.check(() => Promise.resolve(OK));
    await p.check(() => Promise.resolve(DOWN));
    await p.check(() => Promise.resolve({ ...DOWN, checks: { ...DOWN.checks, homeserver: { ok: false, detail: "another detail" } } }));
    await p.check(() => Promise.resolve(worse));
    await p.check(() => Promise.resolve(OK));
    await p.check(() => Promise.resolve(DOWN));
    assert.deepEqual(pings(), [`POST /ping/${UUID}`, `POST /ping/${UUID}/fail`, `POST /ping/${UUID}/fail`, `POST /ping/${UUID}`, `POST /ping/${UUID}/fail`]);
    assert.equal(hc.requests[1]?.body, "honoroit is degraded (homeserver: fetch failed: connect ECONNREFUSED)");
    assert.equal(hc.requests[2]?.body, "honoroit is degraded (homeserver: fetch failed: timeout; database: SQLITE_BUSY)");
  });

  it("a failing health check is a fail ping; a standby pings nothing (its active serve does)", async () => {
    const p = pinger();
    await p.check(() => Promise.resolve(STANDBY));
    assert.deepEqual(pings(), []);
    await p.check(() => Promise.reject(new Error("database is locked")));
    assert.deepEqual(pings(), [`POST /ping/${UUID}/fail`]);
    assert.match(hc.requests[0]?.body ?? "", /the health check itself failed: database is locked/);
  });

  it("sends a failure's exit code, clamped to 0-255", async () => {
    const p = pinger();
    await p.exit(4, "honoroit serve stopped with exit code 4: busy");
    await p.exit(300, "x");
    assert.deepEqual(pings(), [`POST /ping/${UUID}/4`, `POST /ping/${UUID}/255`]);
  });

  it("scrubs secrets from the bodies it sends", async () => {
    const scrubber = new Scrubber(["hunter2-password"]);
    const p = pinger({ scrub: (t) => scrubber.text(t) });
    await p.check(() => Promise.resolve({ status: "degraded", checks: { database: { ok: false, detail: "login for postgres://bot:hunter2-password@db/honoroit failed" } } }));
    assert.equal(hc.requests[0]?.body, "honoroit is degraded (database: login for postgres://bot:[redacted]@db/honoroit failed)");
  });

  it("a ping that fails is a warning once, then debug, and never throws; the fail ping is tried again", async () => {
    hc.status = 500;
    const p = pinger();
    assert.equal(await p.start("starting"), false);
    await p.check(() => Promise.resolve(DOWN));
    await p.check(() => Promise.resolve(DOWN));
    assert.equal(hc.to(`/ping/${UUID}/fail`).length, 2, "an undelivered fail ping is sent again at the next check");
    const warned = logger.lines.filter((l) => l.level === "warn");
    assert.equal(warned.length, 1);
    assert.match(warned[0]?.message ?? "", /healthchecks\.io ping did not go through; the bot goes on/);
    assert.equal(warned[0]?.fields?.["error"], "HTTP 500");
    hc.status = 200;
    await p.check(() => Promise.resolve(OK));
    assert.ok(logger.lines.some((l) => l.level === "info" && l.message === "healthchecks.io pings go through again"));
    assert.ok(!JSON.stringify(logger.lines).includes(UUID), "the UUID is never logged");
  });

  it("an unreachable Healthchecks is logged with the reason, not thrown", async () => {
    const p = pinger({ url: `http://127.0.0.1:${await freePort()}` });
    assert.equal(await p.start("starting"), false);
    assert.match(String(logger.lines.find((l) => l.level === "warn")?.fields?.["error"]), /fetch failed: .*ECONNREFUSED/);
  });

  it("checks every interval until stopped", async () => {
    const p = pinger({ everyMs: 20 });
    const stop = new AbortController();
    const running = p.run(() => Promise.resolve(OK), stop.signal);
    await waitFor(() => (hc.to(`/ping/${UUID}`).length >= 3 ? true : undefined), { what: "three periodic pings" });
    stop.abort();
    await running;
    assert.ok(pings().every((p) => p === `POST /ping/${UUID}`), pings().join(", "));
  });
});
