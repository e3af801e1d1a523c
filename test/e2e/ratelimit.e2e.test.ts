// `honoroit serve` against a Synapse whose message rate limit is low (start.sh --strict-ratelimit):
// the bot's sends are refused with 429 M_LIMIT_EXCEEDED; it waits as long as the homeserver says,
// keeps serving, and relays everything once and in order. Only the bot is limited: the operator
// and the customer are exempt, so the customer can write faster than the bot may relay.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { optionDef } from "../../src/core/options.ts";
import { ServeProcess } from "../support/serve-process.ts";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { skipUnlessSynapse, waitFor } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

const COUNT = 12;
/** serve's line for a refused request: `… WARN homeserver rate limit, retrying in 1.9s request="PUT /rooms/…"`. */
const RATE_LIMITED = /WARN homeserver rate limit, retrying in (\d+(?:\.\d+)?)s request="(\w+ [^"]+)"/g;

describe("homeserver rate limiting", { timeout: 120_000 }, () => {
  it("waits out 429 M_LIMIT_EXCEEDED and relays each message once, in order", async (t) => {
    const hs = skipUnlessSynapse(t, { strict: true });
    if (hs === undefined) return;
    const startedAt = Date.now();
    const w = await makeWorld(t, { hs, exemptPeopleFromRateLimit: true });
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));

    // /_health is watched for the whole run: being rate limited is not an outage.
    const healthUrl = `http://127.0.0.1:${w.port}/_health`;
    await waitFor(async () => ((await fetch(healthUrl)).status === 200 ? true : undefined), { what: "/_health to be ok" });
    const healthCodes: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const code = await fetch(healthUrl).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
        healthCodes.push(code);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    t.after(async () => {
      watching = false;
      await watcher;
    });

    const dm = await w.openDm();
    const bodies = Array.from({ length: COUNT }, (_, i) => `rate limited message ${String(i).padStart(2, "0")}`);
    const burstAt = Date.now();
    for (const body of bodies) await w.customer.client.sendTextMessage(dm, body);
    const sentIn = Date.now() - burstAt;

    const rootOf = async () => {
      const history = await roomHistory(w.operator.client, w.opsRoom);
      const roots = history.filter((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
      return { history, roots };
    };
    const root = await waitFor(async () => {
      const { history, roots } = await rootOf();
      const r = roots[0];
      return r !== undefined && threadMessages(history, r.event_id).length >= COUNT ? r : undefined;
    }, { what: `all ${COUNT} messages in the thread`, timeoutMs: 60_000, intervalMs: 500 });
    const relayedIn = Date.now() - burstAt;

    // Let anything sent twice show up before counting.
    await new Promise((r) => setTimeout(r, 1_500));
    const { history, roots } = await rootOf();
    assert.equal(roots.length, 1, "one thread");
    const relayed = threadMessages(history, root.event_id).map((e) => bodyOf(e).split("\n")[1]);
    assert.deepEqual(relayed, bodies, "each message once, in order");
    const greetings = (await roomHistory(w.customer.client, dm)).filter((e) => e.sender === w.bot && e.type === "m.room.message");
    assert.deepEqual(greetings.map((e) => bodyOf(e)), [optionDef("text.greetings").default], "one greeting");

    // It was refused, said so, and waited as told instead of hammering the homeserver: Synapse
    // answers a retry that comes too early with another 429, so retrying at once would show up
    // as many more refusals than sends.
    const refusals = [...serve.output.matchAll(RATE_LIMITED)].map((m) => ({ waitS: Number(m[1]), request: m[2] ?? "" }));
    const sendRefusals = refusals.filter((r) => /^PUT \/rooms\/[^/]+\/send\/m\.room\.message\//.test(r.request));
    assert.ok(sendRefusals.length > 0, `a rate-limited message send was logged:\n${serve.output.slice(-4_000)}`);
    assert.ok(sendRefusals.some((r) => r.waitS > 0), "the homeserver's retry_after_ms was waited out");
    const sends = COUNT + 2; // the copies, the thread root, the greeting
    assert.ok(refusals.length <= 2 * sends, `${refusals.length} refusals for ${sends} sends: retried too early`);

    assert.equal(serve.exitCode, undefined, "serve keeps running");
    watching = false;
    await watcher;
    assert.ok(healthCodes.length > 0);
    assert.deepEqual(healthCodes.filter((c) => c !== 200), [], `/_health stayed 200 (${healthCodes.length} checks)`);
    assert.equal(await serve.stop("SIGTERM"), 0, serve.output.slice(-4_000));

    const waits = refusals.map((r) => r.waitS);
    t.diagnostic(
      `${COUNT} messages sent in ${sentIn} ms, relayed in ${relayedIn} ms; ${refusals.length} 429s ` +
        `(${sendRefusals.length} on message sends), waits ${Math.min(...waits)}–${Math.max(...waits)} s; ` +
        `test took ${Date.now() - startedAt} ms`,
    );
  });
});
