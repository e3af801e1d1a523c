// The homeserver goes away (before start, and while serving): serve keeps retrying, /_health
// says so, and relaying resumes by itself with nothing lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freePort, ServeProcess } from "../support/serve-process.ts";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

interface Health {
  status: string;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

async function health(port: number): Promise<{ code: number; body: Health }> {
  const res = await fetch(`http://127.0.0.1:${port}/_health`);
  return { code: res.status, body: (await res.json()) as Health };
}

describe("homeserver outages", { timeout: 240_000 }, () => {
  it("waits for an unreachable homeserver at start and while serving, then relays what was missed", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const hsUrl = new URL(w.hs.url);
    const proxy = new TcpProxy(await freePort(), { host: hsUrl.hostname, port: Number(hsUrl.port) });
    t.after(() => proxy.cut());

    // Start with the homeserver unreachable: serve is up, says so, and keeps trying.
    const serve = w.track(await ServeProcess.start({ ...w.env, HONOROIT_HOMESERVER: `http://127.0.0.1:${proxy.port}` }, { waitUntilServing: false }));
    const down = await waitFor(async () => {
      const h = await health(w.port).catch(() => undefined);
      return h?.code === 503 ? h : undefined;
    }, { what: "/_health to answer 503 while the homeserver is unreachable", timeoutMs: 15_000 });
    assert.equal(down.body.status, "degraded");
    assert.equal(down.body.checks["homeserver"]?.ok, false);
    await waitFor(() => (/homeserver unreachable, retrying in \d+/.test(serve.output) ? true : undefined), { what: "a retry log line" });
    assert.equal(serve.exitCode, undefined, "serve keeps running");

    await proxy.open();
    await waitFor(() => (serve.output.includes(" serving ") ? true : undefined), { what: "serve to log in once the homeserver is back", timeoutMs: 70_000 });
    await waitFor(async () => ((await health(w.port)).code === 200 ? true : undefined), { what: "/_health to be ok" });
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "before the outage");
    const rootOf = async () => {
      const history = await roomHistory(w.operator.client, w.opsRoom);
      const root = history.find((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
      return { history, root };
    };
    await waitFor(async () => {
      const { history, root } = await rootOf();
      return root !== undefined && threadMessages(history, root.event_id).length === 1 ? true : undefined;
    }, { what: "the first message relayed", timeoutMs: 20_000 });

    // Cut the homeserver off mid-run; the customer writes meanwhile (straight to Synapse).
    await proxy.cut();
    await waitFor(async () => ((await health(w.port)).code === 503 ? true : undefined), { what: "/_health to notice the outage", timeoutMs: 40_000 });
    await w.customer.client.sendTextMessage(dm, "during the outage");
    await new Promise((r) => setTimeout(r, 2_000));
    await proxy.open();

    await waitFor(async () => {
      const { history, root } = await rootOf();
      return root !== undefined && threadMessages(history, root.event_id).length === 2 ? true : undefined;
    }, { what: "the message sent during the outage to be relayed", timeoutMs: 90_000, intervalMs: 500 });
    const { history, root } = await rootOf();
    assert.ok(root);
    assert.deepEqual(threadMessages(history, root.event_id).map((e) => bodyOf(e).split("\n")[1]), ["before the outage", "during the outage"]);
    assert.equal((await health(w.port)).code, 200);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
