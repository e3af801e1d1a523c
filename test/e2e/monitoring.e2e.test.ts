// The real `honoroit serve` with healthchecks.io pings and Sentry reports, against a local
// server that plays both and records what it gets: the start ping, a ping every interval while
// /_health is ok, a fail ping with the reason when it is not (the bot not yet in the operators
// room; the homeserver cut off), the exit code at the end, and error reports as envelopes that
// carry the DSN's key and none of the bot's secrets.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { packageVersion } from "../../src/cli/version.ts";
import { RecordingServer, type RecordedRequest } from "../support/recording-server.ts";
import { freePort, runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { makeWorld } from "./world.ts";

const SENTRY_KEY = "e2epublickey";
const PROJECT = "42";

/** The environment that points serve's monitoring at `server`, checking health every second. */
function monitoringEnv(server: RecordingServer, uuid: string): Record<string, string> {
  return {
    HONOROIT_MONITORING_HEALTHCHECKS_URL: `${server.url}/ping`,
    HONOROIT_MONITORING_HEALTHCHECKS_UUID: uuid,
    HONOROIT_MONITORING_HEALTHCHECKS_DURATION: "1",
    HONOROIT_MONITORING_SENTRY_DSN: `http://${SENTRY_KEY}@${server.url.slice("http://".length)}/${PROJECT}`,
  };
}

/** The pings of check `uuid`, as `start`, `ok`, `fail`, or the exit code. */
function pings(server: RecordingServer, uuid: string): { kind: string; body: string }[] {
  const base = `/ping/${uuid}`;
  return server.to(base).map((r) => ({ kind: r.path === base ? "ok" : r.path.slice(base.length + 1), body: r.body }));
}

/** The events of the Sentry envelopes received, each with the request that carried it. */
function envelopes(server: RecordingServer): { request: RecordedRequest; event: { level?: string; message?: { formatted?: string }; exception?: { values: { value: string }[] } } }[] {
  return server.to(`/api/${PROJECT}/envelope/`).map((request) => ({ request, event: JSON.parse(request.body.split("\n")[2] ?? "{}") as never }));
}

describe("monitoring: healthchecks.io pings and Sentry reports from a real serve", { timeout: 300_000 }, () => {
  it("pings start, every interval while healthy, fail with the reason when not, and 0 at a clean stop; error lines reach Sentry without secrets", async (t) => {
    const w = await makeWorld(t, { inviteBot: false });
    if (w === undefined) return;
    const server = await RecordingServer.start();
    t.after(() => server.close());
    const hsUrl = new URL(w.hs.url);
    const proxy = new TcpProxy(await freePort(), { host: hsUrl.hostname, port: Number(hsUrl.port) });
    await proxy.open();
    t.after(() => proxy.cut());
    const uuid = randomUUID();
    const secrets = { HONOROIT_DATA_SECRET: "e2e-data-secret-of-32-bytes-4f1c", HONOROIT_METRICS_LOGIN: "prometheus", HONOROIT_METRICS_PASSWORD: "metrics-pass-77aa" };
    const env: Record<string, string> = { ...w.env, ...secrets, ...monitoringEnv(server, uuid), HONOROIT_HOMESERVER: `http://127.0.0.1:${proxy.port}` };
    const serve = w.track(await ServeProcess.start(env));

    // The bot is not in the operators room yet: an error line, and a fail ping saying why.
    await waitFor(() => (pings(server, uuid).some((p) => p.kind === "fail" && p.body.includes("operatorsRoom: the bot cannot join the operators room")) ? true : undefined), {
      what: "a fail ping naming the operators room",
      timeoutMs: 30_000,
    });
    assert.equal(pings(server, uuid)[0]?.kind, "start", "the first ping is the start");
    const report = await waitFor(() => envelopes(server).find((e) => e.event.message?.formatted?.startsWith("the bot cannot join the operators room") === true), { what: "the error line in Sentry", timeoutMs: 30_000 });
    assert.equal(report.event.level, "error");
    assert.equal(report.request.headers["x-sentry-auth"], `Sentry sentry_version=7, sentry_client=honoroit/honoroit@${packageVersion()}, sentry_key=${SENTRY_KEY}`);
    assert.equal(report.request.headers["content-type"], "application/x-sentry-envelope");

    // Invited, the bot joins within 5 s: health is ok, and a ping arrives every interval.
    await w.operator.client.invite(w.opsRoom, w.bot);
    await waitFor(() => (pings(server, uuid).filter((p) => p.kind === "ok").length >= 3 ? true : undefined), { what: "three periodic pings once healthy", timeoutMs: 30_000 });

    // The homeserver cut off: a fail ping with the reason; back, pings again.
    const beforeCut = pings(server, uuid).length;
    await proxy.cut();
    const cutAt = Date.now();
    const fail = await waitFor(() => pings(server, uuid).slice(beforeCut).find((p) => p.kind === "fail"), { what: "a fail ping once the homeserver is cut off", timeoutMs: 60_000 });
    assert.match(fail.body, /^honoroit is degraded \(homeserver: /);
    t.diagnostic(`the fail ping came ${Date.now() - cutAt} ms after the homeserver was cut off`);
    const okBeforeCut = pings(server, uuid).slice(0, beforeCut).filter((p) => p.kind === "ok").length;
    await proxy.open();
    await waitFor(() => {
      const all = pings(server, uuid);
      const lastFail = all.map((p) => p.kind).lastIndexOf("fail");
      return all.slice(lastFail + 1).some((p) => p.kind === "ok") ? true : undefined;
    }, { what: "pings again once the homeserver is back", timeoutMs: 120_000, intervalMs: 500 });
    assert.ok(pings(server, uuid).filter((p) => p.kind === "ok").length > okBeforeCut);

    assert.equal(await serve.stop("SIGTERM"), 0);
    const all = pings(server, uuid);
    t.diagnostic(`pings: ${all.map((p) => p.kind).join(" ")}`);
    assert.deepEqual(all.at(-1), { kind: "0", body: "honoroit serve stopped" });
    assert.equal(all.filter((p) => p.kind === "start").length, 1);

    // Nothing sent anywhere, nor the log, holds a secret; the UUID only in the ping paths.
    const { openStore } = await import("../../src/adapters/storage/open-store.ts");
    const { TokenSeal } = await import("../../src/adapters/matrix/token-seal.ts");
    const store = await openStore({ dialect: "sqlite", dsn: env.HONOROIT_DB_DSN ?? "" });
    const token = new TokenSeal(secrets.HONOROIT_DATA_SECRET).open((await store.kv.get("matrix", "access_token")) ?? "");
    await store.close();
    assert.ok(token !== undefined && token.length > 10);
    const sent = server.requests.map((r) => `${r.body}\n${JSON.stringify({ ...r.headers, "x-sentry-auth": undefined })}`).join("\n");
    for (const [name, value] of Object.entries({ password: env.HONOROIT_PASSWORD ?? "", data: secrets.HONOROIT_DATA_SECRET, metrics: secrets.HONOROIT_METRICS_PASSWORD, token, dsn: env.HONOROIT_MONITORING_SENTRY_DSN ?? "" })) {
      assert.ok(!sent.includes(value), `what was sent holds the ${name}`);
      assert.ok(!serve.output.includes(value), `the log holds the ${name}`);
    }
    assert.ok(!sent.includes(uuid), "the UUID only in the ping URLs");
    assert.ok(!serve.output.includes(uuid), "the log never shows the UUID");
  });

  it("a serve that cannot start pings its exit code with the reason, and the error reaches Sentry", async (t) => {
    const server = await RecordingServer.start();
    t.after(() => server.close());
    // The HTTP port is taken: serve stops before it reaches the homeserver (none is needed).
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-monitoring-"));
    const uuid = randomUUID();
    const r = await runCli(["serve"], {
      HONOROIT_HOMESERVER: "http://127.0.0.1:9",
      HONOROIT_LOGIN: "honoroit",
      HONOROIT_PASSWORD: "a password that never leaves",
      HONOROIT_ROOMID: "!ops:example.com",
      HONOROIT_DB_DSN: `${dir}/honoroit.db`,
      HONOROIT_PORT: String(port),
      ...monitoringEnv(server, uuid),
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot listen for HTTP on 127\.0\.0\.1:\d+: EADDRINUSE/);
    const all = pings(server, uuid);
    assert.deepEqual(all.map((p) => p.kind), ["start", "2"]);
    assert.match(all[1]?.body ?? "", /^honoroit serve stopped with exit code 2: cannot listen for HTTP on 127\.0\.0\.1:\d+: EADDRINUSE$/);
    const [report, ...more] = envelopes(server);
    assert.equal(more.length, 0);
    assert.equal(report?.event.level, "fatal");
    assert.match(report.event.exception?.values.at(-1)?.value ?? "", /^cannot listen for HTTP on 127\.0\.0\.1:\d+: EADDRINUSE$/);
    assert.ok(!server.requests.some((q) => q.body.includes("a password that never leaves")));
  });
});
