// Faults survived: serve killed at many moments of mixed traffic, the SQLite disk full. The
// real binary, a real Synapse, customers and operators sending throughout; what a person sees
// is counted: nothing lost, nothing doubled.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { bodyOf, relation, roomHistory, threadMessages, type RawEvent } from "../support/room-history.ts";
import { FaultyHttpProxy } from "../support/http-proxy.ts";
import { privatePostgresProblem, startPrivatePostgres } from "../support/private-postgres.ts";
import { ServeProcess } from "../support/serve-process.ts";
import { requireService } from "../support/services.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, type Person, type World } from "./world.ts";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The thread root of `customer`'s request, once there is one. */
async function rootOf(w: World, customer: string): Promise<string> {
  return waitFor(async () => {
    const history = await roomHistory(w.operator.client, w.opsRoom);
    return history.find((e) => e.sender === w.bot && e.content["customer"] === customer && bodyOf(e).startsWith("[OPEN]"))?.event_id;
  }, { what: `the thread of ${customer}`, timeoutMs: 60_000, intervalMs: 300 });
}

/** Bot messages in a room (no edits, no reactions). */
const botMessages = (history: readonly RawEvent[], bot: string): RawEvent[] => history.filter((e) => e.sender === bot && e.type === "m.room.message" && relation(e).rel_type !== "m.replace");

describe("faults", { timeout: 600_000 }, () => {
  it("serve killed at 20 moments of mixed traffic: every message, reply, edit, reaction, close and start happens once", async (t) => {
    const w = await makeWorld(t, { exemptPeopleFromRateLimit: true });
    if (w === undefined) return;
    let serve = w.track(await ServeProcess.start(w.env));
    const alice = w.customer;
    const bob = await w.person("bob", "Bob Customer");
    const carol = await w.person("carol", "Carol Customer");
    const dmA = await w.openDm(alice);
    await alice.client.sendTextMessage(dmA, "alice 0");
    const rootA = await rootOf(w, alice.userId);

    const sentByAlice = ["alice 0"];
    const repliesToAlice: string[] = [];
    const edits: { who: Person; room: string; original: string; body: string }[] = [];
    const reactions: { room: string; target: string; key: string }[] = [];
    let dmB = "";
    let rootB = "";
    const reply = async (text: string): Promise<string> => {
      repliesToAlice.push(text);
      const { event_id } = await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: text, "m.relates_to": { rel_type: "m.thread", event_id: rootA, is_falling_back: true, "m.in_reply_to": { event_id: rootA } } } as never);
      return event_id;
    };
    const say = async (who: Person, room: string, text: string, list?: string[]): Promise<string> => {
      list?.push(text);
      return (await who.client.sendTextMessage(room, text)).event_id;
    };

    // Each moment: some traffic, then a SIGKILL after a different delay, then a restart.
    const moments: (() => Promise<void>)[] = [
      async () => {
        await say(alice, dmA, "alice 1", sentByAlice);
      },
      async () => {
        await reply("reply 1");
      },
      async () => {
        const id = await say(alice, dmA, "alice 2 (typo)", sentByAlice);
        await alice.client.sendEvent(dmA, "m.room.message" as never, { msgtype: "m.text", body: "* alice 2", "m.new_content": { msgtype: "m.text", body: "alice 2" }, "m.relates_to": { rel_type: "m.replace", event_id: id } } as never);
        edits.push({ who: w.operator, room: w.opsRoom, original: "alice 2 (typo)", body: "alice 2" });
      },
      async () => {
        const id = await reply("reply 2 (typo)");
        await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: "* reply 2", "m.new_content": { msgtype: "m.text", body: "reply 2" }, "m.relates_to": { rel_type: "m.replace", event_id: id } } as never);
        edits.push({ who: alice, room: dmA, original: "reply 2 (typo)", body: "reply 2" });
      },
      async () => {
        const id = await say(alice, dmA, "alice 3", sentByAlice);
        await w.operator.client.sendEvent(w.opsRoom, "m.reaction" as never, { "m.relates_to": { rel_type: "m.annotation", event_id: await copyOf(w, w.operator, w.opsRoom, "alice 3"), key: "👀" } } as never);
        reactions.push({ room: dmA, target: id, key: "👀" });
      },
      async () => {
        dmB = await w.openDm(bob);
        await say(bob, dmB, "bob 1");
      },
      async () => {
        await say(alice, dmA, "alice 4", sentByAlice);
      },
      async () => {
        rootB = await rootOf(w, bob.userId);
        await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: "!ho done", "m.relates_to": { rel_type: "m.thread", event_id: rootB } } as never);
      },
      async () => {
        await reply("reply 3");
      },
      async () => {
        await w.operator.client.sendTextMessage(w.opsRoom, `!ho start ${carol.userId}`);
      },
      async () => {
        await say(alice, dmA, "alice 5", sentByAlice);
      },
      async () => {
        await say(alice, dmA, "alice 6", sentByAlice);
        await say(alice, dmA, "alice 7", sentByAlice);
      },
      async () => {
        await reply("reply 4");
      },
      async () => {
        await say(alice, dmA, "alice 8", sentByAlice);
      },
      async () => {
        await reply("reply 5");
        await say(alice, dmA, "alice 9", sentByAlice);
      },
      async () => {
        await say(alice, dmA, "alice 10", sentByAlice);
      },
      async () => {
        await reply("reply 6");
      },
      async () => {
        await say(alice, dmA, "alice 11", sentByAlice);
      },
      async () => {
        await reply("reply 7");
        await reply("reply 8");
      },
      async () => {
        await say(alice, dmA, "alice 12", sentByAlice);
      },
    ];
    assert.equal(moments.length, 20);
    for (const [i, moment] of moments.entries()) {
      await moment();
      await sleep([0, 50, 150, 300, 600][i % 5] ?? 0);
      await serve.stop("SIGKILL");
      serve = w.track(await ServeProcess.start(w.env));
    }

    // Everything settles: Alice's thread has each of her messages once, in order; she has each reply once.
    await waitFor(async () => {
      const ops = await roomHistory(w.operator.client, w.opsRoom);
      const inThread = threadMessages(ops, rootA).filter((e) => e.sender === w.bot).map((e) => bodyOf(e).split("\n")[1] ?? "");
      const toAlice = botMessages(await roomHistory(alice.client, dmA), w.bot).map(bodyOf);
      return inThread.length >= sentByAlice.length && toAlice.filter((b) => b.startsWith("reply")).length >= repliesToAlice.length ? true : undefined;
    }, { what: "every message and reply relayed", timeoutMs: 120_000, intervalMs: 1000 });
    await sleep(3000);
    const ops = await roomHistory(w.operator.client, w.opsRoom);
    const inThread = threadMessages(ops, rootA).filter((e) => e.sender === w.bot && !bodyOf(e).startsWith("Request")).map((e) => bodyOf(e).split("\n")[1] ?? "");
    assert.deepEqual(inThread, sentByAlice, "each of Alice's messages once, in order");
    const toAlice = botMessages(await roomHistory(alice.client, dmA), w.bot).map(bodyOf).filter((b) => b.startsWith("reply"));
    assert.deepEqual(toAlice, repliesToAlice, "each reply once, in order");

    // Each edit applied once, each reaction once.
    for (const edit of edits) {
      const history = await roomHistory(edit.who.client, edit.room);
      const copy = await copyOf(w, edit.who, edit.room, edit.original);
      const replaces: RawEvent[] = history.filter((e) => e.sender === w.bot && relation(e).rel_type === "m.replace" && relation(e).event_id === copy);
      assert.equal(replaces.length, 1, `the edit "${edit.body}" applied once`);
    }
    for (const r of reactions) {
      const history = await roomHistory(alice.client, r.room);
      const mirrored: RawEvent[] = history.filter((e) => e.type === "m.reaction" && e.sender === w.bot && relation(e).event_id === r.target);
      assert.equal(mirrored.length, 1, `the reaction ${r.key} mirrored once`);
    }

    // Bob's request: one thread, closed once, told once; Carol's: one room, one thread.
    assert.equal(ops.filter((e) => e.sender === w.bot && e.content["customer"] === bob.userId && bodyOf(e).startsWith("[OPEN]")).length, 1);
    const bobTold = botMessages(await roomHistory(bob.client, dmB), w.bot).filter((e) => /resolved/.test(bodyOf(e)));
    assert.equal(bobTold.length, 1, "Bob is told once that his request is closed");
    assert.equal(ops.filter((e) => relation(e).event_id === rootB && /^Request #\d+ is closed/.test(bodyOf(e))).length, 1);
    const carolRooms = await waitFor(() => {
      const invited = carol.client.getRooms().filter((r) => r.getMyMembership() === "invite" || r.getMyMembership() === "join");
      return invited.length > 0 ? invited : undefined;
    }, { what: "Carol's invite", timeoutMs: 30_000 });
    assert.equal(carolRooms.length, 1, "one room started with Carol");
    assert.equal(ops.filter((e) => e.sender === w.bot && e.content["customer"] === carol.userId && bodyOf(e).startsWith("[OPEN]")).length, 1, "one thread for Carol");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("PostgreSQL restarted while customers write: serve keeps running, keeps its lock, relays each message once", async (t) => {
    const problem = privatePostgresProblem();
    if (!requireService(t, "a private PostgreSQL", problem)) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const pg = await startPrivatePostgres();
    t.after(() => pg.stop());
    const env = { ...w.env, HONOROIT_DB_DIALECT: "postgres", HONOROIT_DB_DSN: pg.dsn };
    const serve = w.track(await ServeProcess.start(env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "before the restart");
    const root = await rootOf(w, w.customer.userId);
    const during = Array.from({ length: 10 }, (_, i) => `around the restart ${i}`);
    const restarting = pg.restart(5000);
    for (const body of during) {
      await w.customer.client.sendTextMessage(dm, body);
      await sleep(400);
    }
    await restarting;
    await waitFor(async () => {
      const got = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root);
      return got.length >= 1 + during.length ? true : undefined;
    }, { what: "the messages sent around the restart", timeoutMs: 90_000, intervalMs: 500 });
    await sleep(2000);
    const final = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).map((e) => bodyOf(e).split("\n")[1] ?? "");
    assert.deepEqual(final, ["before the restart", ...during], "each once, in order");
    assert.equal(serve.exitCode, undefined, "serve kept running");
    assert.match(serve.output, /the serve lock is held again/);
    assert.equal((await serve.health(w.port)).body.status, "ok");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("a homeserver that answers 502 for 10 s, then slowly: every message and reply once, in order", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const proxy = await FaultyHttpProxy.start(w.hs.url);
    t.after(() => proxy.close());
    const serve = w.track(await ServeProcess.start({ ...w.env, HONOROIT_HOMESERVER: proxy.url }));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "before");
    const root = await rootOf(w, w.customer.userId);
    proxy.failUntil = Date.now() + 10_000;
    const during = Array.from({ length: 8 }, (_, i) => `while it fails ${i}`);
    for (const body of during) {
      await w.customer.client.sendTextMessage(dm, body);
      await sleep(500);
    }
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: "an answer while it fails", "m.relates_to": { rel_type: "m.thread", event_id: root } } as never);
    await waitFor(() => (Date.now() > proxy.failUntil ? true : undefined), { what: "the failing time to pass", timeoutMs: 20_000, intervalMs: 200 });
    proxy.delayMs = 300;
    const slow = Array.from({ length: 4 }, (_, i) => `while it is slow ${i}`);
    for (const body of slow) await w.customer.client.sendTextMessage(dm, body);
    await waitFor(async () => {
      const got = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).filter((e) => e.sender === w.bot);
      return got.length >= 1 + during.length + slow.length ? true : undefined;
    }, { what: "every message through the faulty homeserver", timeoutMs: 120_000, intervalMs: 1000 });
    await sleep(2000);
    const final = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).filter((e) => e.sender === w.bot).map((e) => bodyOf(e).split("\n")[1] ?? "");
    assert.deepEqual(final, ["before", ...during, ...slow], "each once, in order");
    const toCustomer = botMessages(await roomHistory(w.customer.client, dm), w.bot).map(bodyOf).filter((b) => b === "an answer while it fails");
    assert.equal(toCustomer.length, 1, "the operator's answer once");
    assert.ok(proxy.failed > 0, "the bot did meet the 502s");
    t.diagnostic(`${proxy.failed} requests got a 502, ${proxy.passed} passed`);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("Synapse stopped for 30 s and started again: what was under way and what comes after arrive once, in order", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root to stop and start the test Synapse");
      return;
    }
    const w = await makeWorld(t);
    if (w === undefined) return;
    const port = new URL(w.hs.url).port;
    const synapse = (script: string, ...args: string[]): void => {
      execFileSync("bash", [path.join(import.meta.dirname, "../synapse", script), "--port", port, ...args], { stdio: "ignore" });
    };
    const serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    const before = Array.from({ length: 5 }, (_, i) => `just before ${i}`);
    for (const body of before) await w.customer.client.sendTextMessage(dm, body);
    const root = await rootOf(w, w.customer.userId);
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: "an answer just before", "m.relates_to": { rel_type: "m.thread", event_id: root } } as never);
    synapse("stop.sh");
    try {
      await sleep(30_000);
    } finally {
      // The same accounts, rooms and shared secret: only the process stopped.
      synapse("start.sh", "--keep-data");
    }
    assert.equal(serve.exitCode, undefined, "serve kept running");
    const after = ["after the restart 0", "after the restart 1"];
    for (const body of after) await w.customer.client.sendTextMessage(dm, body);
    await waitFor(async () => {
      const got = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).filter((e) => e.sender === w.bot);
      return got.length >= before.length + after.length ? true : undefined;
    }, { what: "every message after Synapse is back", timeoutMs: 120_000, intervalMs: 1000 });
    await sleep(2000);
    const final = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).filter((e) => e.sender === w.bot).map((e) => bodyOf(e).split("\n")[1] ?? "");
    assert.deepEqual(final, [...before, ...after], "each once, in order");
    const answers = botMessages(await roomHistory(w.customer.client, dm), w.bot).map(bodyOf).filter((b) => b === "an answer just before");
    assert.equal(answers.length, 1, "the operator's answer once");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("the SQLite disk full: messages wait, and arrive once each when space is freed", async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip("needs root to mount a small tmpfs");
      return;
    }
    const w = await makeWorld(t);
    if (w === undefined) return;
    const mount = path.join(w.dir, "small-disk");
    mkdirSync(mount);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount]);
    t.after(() => execFileSync("umount", ["-l", mount]));
    const env = { ...w.env, HONOROIT_DB_DSN: path.join(mount, "honoroit.db") };
    const serve = w.track(await ServeProcess.start(env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "before the disk fills");
    const root = await rootOf(w, w.customer.userId);

    // Fill the disk to the last byte.
    const filler = path.join(mount, "filler");
    try {
      writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
    } catch {
      // ENOSPC: it is full now
    }
    const during = Array.from({ length: 10 }, (_, i) => `while full ${i}`);
    for (const body of during) await w.customer.client.sendTextMessage(dm, body);
    await waitFor(() => (/disk is full/.test(serve.output) ? true : undefined), { what: "serve to say the disk is full", timeoutMs: 30_000 });
    assert.equal(serve.exitCode, undefined, "serve keeps running");

    rmSync(filler);
    await waitFor(async () => {
      const got = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).map((e) => bodyOf(e).split("\n")[1] ?? "");
      return got.length >= 1 + during.length ? got : undefined;
    }, { what: "the messages sent while the disk was full", timeoutMs: 90_000, intervalMs: 500 });
    await sleep(2000);
    const final = threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).map((e) => bodyOf(e).split("\n")[1] ?? "");
    assert.deepEqual(final, ["before the disk fills", ...during], "each once, in order");
    const errors = botMessages(await roomHistory(w.customer.client, dm), w.bot).filter((e) => /went wrong/.test(bodyOf(e)));
    assert.equal(errors.length, 0, "the customer was not told that something went wrong");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});

/** The bot's copy, in `room` as `who` sees it, of the message whose text was `text`. */
async function copyOf(w: World, who: Person, room: string, text: string): Promise<string> {
  return waitFor(async () => {
    const history = await roomHistory(who.client, room);
    return botMessages(history, w.bot).find((e) => bodyOf(e) === text || bodyOf(e).endsWith(`\n${text}`))?.event_id;
  }, { what: `the copy of "${text}"`, timeoutMs: 60_000, intervalMs: 300 });
}
