// The engine end to end against Synapse: events wait (not lost) while the bot is out of the
// operators room or its database is locked, gaps in a busy timeline are read in full, and the
// same holds on PostgreSQL.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { optionDef } from "../../src/core/options.ts";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, type World } from "./world.ts";

/** The thread of the (only) request and what it holds, once it holds `count` messages. */
async function threadOnceItHas(w: World, count: number, timeoutMs = 60_000): Promise<{ bodies: string[]; roots: number }> {
  return waitFor(async () => {
    const history = await roomHistory(w.operator.client, w.opsRoom);
    const roots = history.filter((e) => e.sender === w.bot && bodyOf(e).startsWith("[OPEN]"));
    const root = roots[0];
    if (root === undefined) return undefined;
    const bodies = threadMessages(history, root.event_id).map((e) => bodyOf(e).split("\n").slice(1).join("\n"));
    return bodies.length >= count ? { bodies, roots: roots.length } : undefined;
  }, { what: `${count} messages in the thread`, timeoutMs, intervalMs: 300 });
}

/** What the bot said in the customer's room. */
async function botSaid(w: World, dm: string): Promise<string[]> {
  return (await roomHistory(w.customer.client, dm)).filter((e) => e.sender === w.bot && e.type === "m.room.message").map((e) => bodyOf(e));
}

describe("the engine, end to end", { timeout: 240_000 }, () => {
  for (const database of ["sqlite", "postgres"] as const) {
    it(`a message sent while the bot is not in the operators room waits, and arrives once it is invited (${database})`, async (t) => {
      const w = await makeWorld(t, { inviteBot: false, database });
      if (w === undefined) return;
      const serve = w.track(await ServeProcess.start(w.env));
      const dm = await w.openDm();
      await w.customer.client.sendTextMessage(dm, "is anybody there?");

      const waiting = await waitFor(async () => {
        const health = await serve.health(w.port);
        return health.status === 503 && health.body.checks?.["events"]?.ok === false ? health : undefined;
      }, { what: "/_health to say that a room waits", timeoutMs: 20_000 });
      assert.match(waiting.body.checks?.["events"]?.detail ?? "", new RegExp(`1 room\\(s\\) waiting: ${dm.replace(/[!.]/g, "\\$&")} .*cannot post in the operators room`));
      assert.deepEqual(await botSaid(w, dm), [], "the customer is not told that something went wrong, nor greeted yet");
      const operatorsRoom = waiting.body.checks?.["operatorsRoom"];
      assert.equal(operatorsRoom?.ok, false);
      assert.match(operatorsRoom.detail ?? "", new RegExp(`invite ${w.bot.replace(/[.]/g, "\\.")} there`));
      assert.match(serve.output, /the bot cannot join the operators room .* invite .* there; customers' messages wait until then/);

      await w.operator.client.invite(w.opsRoom, w.bot);
      const thread = await threadOnceItHas(w, 1);
      assert.deepEqual(thread, { bodies: ["is anybody there?"], roots: 1 });
      await waitFor(async () => ((await serve.health(w.port)).status === 200 ? true : undefined), { what: "/_health to be ok again", timeoutMs: 20_000 });
      assert.deepEqual(await botSaid(w, dm), [optionDef("text.greetings").default], "greeted once, and no error");
      assert.doesNotMatch(serve.output, /an event could not be handled/);
      assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
    });
  }

  it("kicked from the operators room mid-request, the bot keeps the customer's messages until it is invited back", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "first");
    await threadOnceItHas(w, 1);
    await w.operator.client.kick(w.opsRoom, w.bot, "oops");
    await w.customer.client.sendTextMessage(dm, "second, while the bot is out");
    await waitFor(async () => ((await serve.health(w.port)).body.checks?.["events"]?.ok === false ? true : undefined), {
      what: "/_health to say that the customer's room waits",
      timeoutMs: 20_000,
    });
    await w.operator.client.invite(w.opsRoom, w.bot);
    const thread = await threadOnceItHas(w, 2);
    assert.deepEqual(thread, { bodies: ["first", "second, while the bot is out"], roots: 1 });
    assert.deepEqual(await botSaid(w, dm), [optionDef("text.greetings").default], "no error message");
    assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
  });

  it("reads a gap in a busy room's timeline from Synapse: every message once, in order", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "message 000");
    await threadOnceItHas(w, 1);
    // Frozen, the bot cannot keep up: more than a timeline's worth (100) piles up, and its next
    // /sync answer for the room is "limited", with a gap to read from /messages.
    serve.signal("SIGSTOP");
    const bodies = ["message 000"];
    try {
      for (let i = 1; i <= 140; i++) {
        const body = `message ${String(i).padStart(3, "0")}`;
        bodies.push(body);
        await w.customer.client.sendTextMessage(dm, body);
      }
    } finally {
      serve.signal("SIGCONT");
    }
    const thread = await threadOnceItHas(w, bodies.length, 120_000);
    assert.deepEqual(thread.bodies, bodies);
    assert.equal(thread.roots, 1);
    assert.match(serve.output, /read a gap in a room's timeline .*pages=\d+/, "the messages came through a gap");
    assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
  });

  // With encryption on, each /sync's key state is saved before its rooms are handled, so the
  // lock stops the sync there (/_health's encryption check); without it, in the room's queue.
  const LOCKED_CASES = [
    { name: "with encryption off", env: { HONOROIT_NOENCRYPTION: "true" }, check: "events", log: /a room waits; retrying .*(database is locked|busy)/i },
    { name: "with encryption on", env: {}, check: "encryption", log: /processing a sync's encryption data failed; retrying .*(database is locked|busy)/i },
  ] as const;
  for (const c of LOCKED_CASES) {
    it(`while another process holds the SQLite database locked, messages wait and none is lost or doubled (${c.name})`, async (t) => {
      const w = await makeWorld(t);
      if (w === undefined) return;
      const serve = w.track(await ServeProcess.start({ ...w.env, ...c.env }));
      const dm = await w.openDm();
      await w.customer.client.sendTextMessage(dm, "before the lock");
      await threadOnceItHas(w, 1);

      // Another writer (a backup, a CLI) holds the write lock longer than serve waits for it (5 s).
      const other = new Database(w.env["HONOROIT_DB_DSN"] ?? "");
      other.exec("BEGIN IMMEDIATE");
      try {
        for (const body of ["during the lock 1", "during the lock 2", "during the lock 3"]) await w.customer.client.sendTextMessage(dm, body);
        await waitFor(async () => {
          const health = await serve.health(w.port);
          return health.body.checks?.[c.check]?.ok === false ? true : undefined;
        }, { what: `/_health's ${c.check} check to say that it waits for the database`, timeoutMs: 30_000 });
      } finally {
        other.exec("COMMIT");
        other.close();
      }
      await w.customer.client.sendTextMessage(dm, "after the lock");
      const thread = await threadOnceItHas(w, 5, 90_000);
      assert.deepEqual(thread.bodies, ["before the lock", "during the lock 1", "during the lock 2", "during the lock 3", "after the lock"]);
      assert.deepEqual(await botSaid(w, dm), [optionDef("text.greetings").default], "no error message, no second greeting");
      assert.match(serve.output, c.log);
      assert.equal((await serve.health(w.port)).status, 200, "healthy again");
      assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
    });
  }
});
