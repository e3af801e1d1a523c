import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PromMetrics } from "../../src/adapters/http/metrics.ts";
import { buildAllowList, startHttpServer, type HealthReport, type HttpServer, type HttpServerOptions } from "../../src/adapters/http/server.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import type { Logger } from "../../src/core/ports.ts";

class RecordingLogger implements Logger {
  readonly errors: string[] = [];
  debug(): void {
    // not needed here
  }
  info(): void {
    // not needed here
  }
  warn(): void {
    // not needed here
  }
  error(message: string): void {
    this.errors.push(message);
  }
}

const HEALTHY: HealthReport = { status: "ok", checks: { homeserver: { ok: true }, database: { ok: true } } };

/** Starts a server on a free loopback port for the duration of a suite. */
function serve(options: Partial<HttpServerOptions> & { metrics?: PromMetrics } = {}): { server: () => HttpServer } {
  let server: HttpServer | undefined;
  before(async () => {
    server = await startHttpServer({
      port: 0,
      host: "127.0.0.1",
      metrics: new PromMetrics(),
      health: () => HEALTHY,
      logger: new RecordingLogger(),
      ...options,
    });
  });
  after(async () => {
    await server?.close();
  });
  return {
    server: () => {
      assert.ok(server);
      return server;
    },
  };
}

function basic(login: string, password: string): string {
  return "Basic " + Buffer.from(`${login}:${password}`).toString("base64");
}

describe("http: /_health", () => {
  let report: HealthReport = HEALTHY;
  const s = serve({ health: () => report });

  it("answers 200 {status: ok} when healthy", async () => {
    report = HEALTHY;
    const res = await fetch(`${s.server().url}/_health`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  it("answers 503 {status: degraded} with the failing checks", async () => {
    report = { status: "degraded", checks: { homeserver: { ok: false, detail: "connection refused" }, database: { ok: true } } };
    const res = await fetch(`${s.server().url}/_health`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), {
      status: "degraded",
      checks: { homeserver: { ok: false, detail: "connection refused" }, database: { ok: true } },
    });
  });

  it("treats a failing check as degraded even if the status says ok", async () => {
    report = { status: "ok", checks: { database: { ok: false } } };
    const res = await fetch(`${s.server().url}/_health?verbose=1`);
    assert.equal(res.status, 503);
    await res.body?.cancel();
  });

  it("answers 404 elsewhere and 405 for other methods", async () => {
    report = HEALTHY;
    const notFound = await fetch(`${s.server().url}/`);
    assert.equal(notFound.status, 404);
    await notFound.body?.cancel();
    const post = await fetch(`${s.server().url}/_health`, { method: "POST" });
    assert.equal(post.status, 405);
    await post.body?.cancel();
  });
});

describe("http: /_health when the check throws", () => {
  const logger = new RecordingLogger();
  const s = serve({
    logger,
    health: () => {
      throw new Error("boom");
    },
  });
  it("answers 503 and logs", async () => {
    const res = await fetch(`${s.server().url}/_health`);
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { status: string }).status, "degraded");
    assert.deepEqual(logger.errors, ["health check failed"]);
  });
});

describe("http: /metrics without protection", () => {
  const metrics = new PromMetrics();
  const s = serve({ metrics });
  it("serves the Go bot's series in Prometheus text", async () => {
    metrics.requestNew();
    metrics.customerMessage("matrix", "@alice:example.com", "example.com");
    metrics.operatorMessage();
    const res = await fetch(`${s.server().url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    const text = await res.text();
    for (const name of ["honoroit_request_new", "honoroit_request_done", "honoroit_messages_total", "honoroit_messages_operator", "honoroit_messages_customer"]) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, "m"));
    }
    assert.match(text, /^honoroit_request_new 1$/m);
    assert.match(text, /^honoroit_messages_total 2$/m);
    assert.match(text, /^honoroit_messages_customer\{source="matrix",domain="example.com"\} 1$/m);
    assert.doesNotMatch(text, /@alice/, "no customer's Matrix ID unless asked for");
  });
});

describe("http: /metrics behind basic auth", () => {
  const s = serve({ auth: { login: "prom", password: "s3cret:with colon" } });
  const cases: readonly (readonly [name: string, header: string | undefined, status: number])[] = [
    ["no credentials", undefined, 401],
    ["wrong password", basic("prom", "nope"), 401],
    ["wrong login", basic("other", "s3cret:with colon"), 401],
    ["a prefix of the password", basic("prom", "s3cret"), 401],
    ["not basic", "Bearer s3cret", 401],
    ["garbage", "Basic !!!", 401],
    ["right credentials", basic("prom", "s3cret:with colon"), 200],
  ];
  for (const [name, header, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const res = await fetch(`${s.server().url}/metrics`, header === undefined ? {} : { headers: { authorization: header } });
      assert.equal(res.status, status);
      if (status === 401) assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
      await res.body?.cancel();
    });
  }
  it("leaves /_health open", async () => {
    const res = await fetch(`${s.server().url}/_health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

describe("http: /metrics behind an IP allow list", () => {
  const allowed = serve({ allowedIps: ["10.0.0.0/8", "127.0.0.1"] });
  const denied = serve({ allowedIps: ["10.0.0.0/8", "fd00::/8"] });
  it("serves a loopback client when 127.0.0.1 is listed", async () => {
    const res = await fetch(`${allowed.server().url}/metrics`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
  it("answers 403 to a loopback client when only 10.0.0.0/8 is listed", async () => {
    const res = await fetch(`${denied.server().url}/metrics`);
    assert.equal(res.status, 403);
    await res.body?.cancel();
  });
  it("leaves /_health open", async () => {
    const res = await fetch(`${denied.server().url}/_health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

describe("http: IP allow list with auth", () => {
  const s = serve({ allowedIps: ["127.0.0.0/8"], auth: { login: "a", password: "b" } });
  it("needs both", async () => {
    const without = await fetch(`${s.server().url}/metrics`);
    assert.equal(without.status, 401);
    await without.body?.cancel();
    const res = await fetch(`${s.server().url}/metrics`, { headers: { authorization: basic("a", "b") } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  });
});

describe("http: dual-stack listener (IPv4 clients arrive as ::ffff:…)", () => {
  it("matches IPv4 rules against mapped addresses", async (t) => {
    let server: HttpServer;
    try {
      server = await startHttpServer({ port: 0, host: "::", allowedIps: ["127.0.0.1"], metrics: new PromMetrics(), health: () => HEALTHY, logger: new RecordingLogger() });
    } catch {
      t.skip("no IPv6 on this machine");
      return;
    }
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:/);
      const res = await fetch(`${server.url}/metrics`);
      assert.equal(res.status, 200);
      await res.body?.cancel();
    } finally {
      await server.close();
    }
  });
});

describe("buildAllowList", () => {
  it("accepts IPv4, IPv6, CIDRs and mapped addresses", () => {
    const list = buildAllowList(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1", "::ffff:172.16.0.0/112"]);
    assert.ok(list);
    assert.equal(list.check("10.1.2.3", "ipv4"), true);
    assert.equal(list.check("11.1.2.3", "ipv4"), false);
    assert.equal(list.check("192.168.1.7", "ipv4"), true);
    assert.equal(list.check("fd12::1", "ipv6"), true);
    assert.equal(list.check("::1", "ipv6"), true);
    assert.equal(list.check("172.16.5.5", "ipv4"), true);
    assert.equal(list.check("172.17.0.1", "ipv4"), false);
  });

  it("allows everyone when empty", () => {
    assert.equal(buildAllowList([]), undefined);
  });

  for (const bad of ["localhost", "10.0.0.0/33", "10.0.0.0/x", "fd00::/129", "1.2.3.4/8/9", "300.1.1.1", ""]) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => buildAllowList([bad]), (e: unknown) => e instanceof HonoroitError && e.code === "BAD_CONFIG" && e.message.includes(`"${bad}"`));
    });
  }
});

describe("http: listening", () => {
  it("reports a taken port as a configuration error", async () => {
    const first = await startHttpServer({ port: 0, host: "127.0.0.1", metrics: new PromMetrics(), health: () => HEALTHY, logger: new RecordingLogger() });
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(
        startHttpServer({ port, host: "127.0.0.1", metrics: new PromMetrics(), health: () => HEALTHY, logger: new RecordingLogger() }),
        (e: unknown) => e instanceof HonoroitError && e.code === "BAD_CONFIG" && /EADDRINUSE/.test(e.message),
      );
    } finally {
      await first.close();
    }
  });

  it("closes promptly with a keep-alive connection open", async () => {
    const server = await startHttpServer({ port: 0, metrics: new PromMetrics(), health: () => HEALTHY, logger: new RecordingLogger() });
    const res = await fetch(`${server.url}/_health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
    await server.close();
  });
});
