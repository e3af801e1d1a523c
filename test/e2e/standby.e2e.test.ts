// One serve per database: a second one refuses to start, or with --standby waits and takes
// over when the active one dies, on the same device, relaying every message exactly once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { freePort, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

describe("one serve per database", { timeout: 240_000 }, () => {
  it("a second serve on the same SQLite database refuses to start, naming the one that runs", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const active = w.track(await ServeProcess.start(w.env));
    const second = await ServeProcess.start({ ...w.env, HONOROIT_PORT: String(await freePort()) }, { waitUntilServing: false });
    const code = await second.stop("SIGCONT");
    assert.equal(code, 4, second.output);
    assert.match(second.output, new RegExp(`another honoroit serve \\(pid ${String(active.pid)} on [^,]+, since [^)]+\\) is using this database; stop it first, or start this one with --standby`));
    assert.equal(await active.stop("SIGTERM"), 0);
  });

  it("a standby on PostgreSQL takes over within 15 s of a SIGKILL, on the same device; every message once, in order", async (t) => {
    const w = await makeWorld(t, { database: "postgres" });
    if (w === undefined) return;
    const active = w.track(await ServeProcess.start(w.env));
    const standbyPort = await freePort();
    const standby = w.track(await ServeProcess.start({ ...w.env, HONOROIT_PORT: String(standbyPort) }, { waitUntilServing: false, args: ["--standby"] }));
    await waitFor(() => (standby.output.includes("standby: another honoroit serve") ? true : undefined), { what: "the standby to wait", timeoutMs: 30_000 });
    const waiting = await standby.health(standbyPort);
    assert.equal(waiting.status, 503);
    assert.equal(waiting.body.status, "standby");
    const activeHealth = await active.health(w.port);
    assert.equal(activeHealth.body.status, "ok");

    const dm = await w.openDm();
    const bodies = Array.from({ length: 40 }, (_, i) => `standby message ${String(i).padStart(2, "0")}`);
    let tookOver: Promise<number> | undefined;
    for (const [i, body] of bodies.entries()) {
      await w.customer.client.sendTextMessage(dm, body);
      if (i === 15) {
        await active.stop("SIGKILL");
        const killedAt = Date.now();
        tookOver = waitFor(() => (standby.output.includes(" serving ") ? true : undefined), { what: "the standby to take over", timeoutMs: 30_000, intervalMs: 100 }).then(() => Date.now() - killedAt);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const tookMs = await (tookOver ?? Promise.resolve(Number.NaN));
    const root = await waitFor(async () => {
      const history = await roomHistory(w.operator.client, w.opsRoom);
      const r = history.find((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
      if (r === undefined) return undefined;
      return threadMessages(history, r.event_id).length >= bodies.length ? r : undefined;
    }, { what: "all 40 messages in the thread", timeoutMs: 60_000, intervalMs: 500 });
    const history = await roomHistory(w.operator.client, w.opsRoom);
    assert.deepEqual(threadMessages(history, root.event_id).map((e) => bodyOf(e).split("\n")[1]), bodies, "each message once, in order");
    const serving = (proc: ServeProcess): string | undefined => / device=(\S+)/.exec(proc.output.split("\n").find((l) => l.includes(" serving ")) ?? "")?.[1];
    assert.equal(serving(standby), serving(active), "the same Matrix device");
    assert.ok(standby.output.includes("taking over"), standby.output);
    t.diagnostic(`the standby was serving ${tookMs} ms after the SIGKILL`);
    assert.ok(tookMs < 15_000, `took over in ${tookMs} ms`);
    assert.ok(serving(active) !== undefined);
    assert.equal((await standby.health(standbyPort)).body.status, "ok");
    assert.equal(await standby.stop("SIGTERM"), 0);
  });
});
