// `honoroit tickets close` from a shell, as an operator scripting it would: with serve stopped
// (the CLI does the work itself, under serve's lock) and with serve running (serve does it).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyOf, relation, roomHistory } from "../support/room-history.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, type Person, type World } from "./world.ts";

async function openRequest(w: World, who: Person, text: string): Promise<{ dm: string; root: string }> {
  const dm = await w.openDm(who);
  await who.client.sendTextMessage(dm, text);
  const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && e.content["customer"] === who.userId && bodyOf(e).startsWith("[OPEN]"))?.event_id, { what: `the thread of ${who.userId}`, timeoutMs: 20_000 });
  return { dm, root };
}

const botSaid = async (who: Person, dm: string, bot: string): Promise<string[]> => (await roomHistory(who.client, dm)).filter((e) => e.sender === bot && e.type === "m.room.message").map(bodyOf);
const titleOf = async (w: World, root: string): Promise<string> => {
  const history = await roomHistory(w.operator.client, w.opsRoom);
  const edits = history.filter((e) => relation(e).rel_type === "m.replace" && relation(e).event_id === root);
  const last = edits.at(-1)?.content["m.new_content"] as { body?: string } | undefined;
  return last?.body ?? bodyOf(history.find((e) => e.event_id === root));
};

describe("honoroit tickets close", { timeout: 240_000 }, () => {
  it("with serve stopped: closes as !ho done does; already closed is no error; an unknown one exits 3", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const { dm, root } = await openRequest(w, w.customer, "please close me from the shell");
    assert.equal(await serve.stop("SIGTERM"), 0);

    const closed = await runCli(["tickets", "close", "1", "--message", "Closed from our desk, thank you!"], w.env);
    assert.equal(closed.code, 0, closed.stderr);
    assert.equal(closed.stdout.trim(), "#1 closed");
    assert.ok((await botSaid(w.customer, dm, w.bot)).includes("Closed from our desk, thank you!"), "the customer is told");
    assert.match(await titleOf(w, root), /^\[DONE\] /);
    await waitFor(() => (w.customer.client.getRoom(dm)?.getMember(w.bot)?.membership === "leave" ? true : undefined), { what: "the bot to leave the customer's room", timeoutMs: 20_000 });

    const again = await runCli(["tickets", "close", "1"], w.env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), "#1 was already closed");
    const unknown = await runCli(["tickets", "close", "99"], w.env);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /there is no request #99/);
    const bad = await runCli(["tickets", "close", "forty-two"], w.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a ticket number: "forty-two"/);
  });

  it("with serve running: tickets list --json | tickets close - --silent; serve does it within seconds", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const bob = await w.person("bob", "Bob Customer");
    const a = await openRequest(w, w.customer, "first");
    const b = await openRequest(w, bob, "second");
    const list = await runCli(["tickets", "list", "--status", "open", "--json"], w.env);
    assert.equal(list.code, 0, list.stderr);
    const started = Date.now();
    const closed = await runCli(["tickets", "close", "-", "--silent", "--json"], w.env, undefined, list.stdout);
    const tookMs = Date.now() - started;
    assert.equal(closed.code, 0, closed.stderr);
    assert.deepEqual((JSON.parse(closed.stdout) as { id: number; outcome: string }[]).map((o) => [o.id, o.outcome]), [[2, "closed"], [1, "closed"]]);
    t.diagnostic(`handed to the running serve and done in ${tookMs} ms`);
    for (const [who, req] of [[w.customer, a], [bob, b]] as const) {
      assert.match(await titleOf(w, req.root), /^\[DONE\] /);
      const told = await botSaid(who, req.dm, w.bot);
      assert.ok(!told.some((m) => /resolved/.test(m)), "silent: the customer is not told");
    }
    assert.match(serve.output, /request closed.*reason=cli/);
    assert.equal(serve.exitCode, undefined);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("on PostgreSQL, stopped then running: closes; with serve running, already closed is said and an unknown one exits 3", async (t) => {
    const w = await makeWorld(t, { database: "postgres" });
    if (w === undefined) return;
    let serve = w.track(await ServeProcess.start(w.env));
    const a = await openRequest(w, w.customer, "close me while serve is down");
    const bob = await w.person("bob", "Bob Customer");
    const b = await openRequest(w, bob, "close me through serve");
    assert.equal(await serve.stop("SIGTERM"), 0);

    const here = await runCli(["tickets", "close", "1", "--silent"], w.env);
    assert.equal(here.code, 0, here.stderr);
    assert.equal(here.stdout.trim(), "#1 closed");
    assert.match(await titleOf(w, a.root), /^\[DONE\] /);

    serve = w.track(await ServeProcess.start(w.env));
    const handed = await runCli(["tickets", "close", "-", "--silent"], w.env, undefined, '{"id":2}\n');
    assert.equal(handed.code, 0, handed.stderr);
    assert.equal(handed.stdout.trim(), "#2 closed");
    assert.match(await titleOf(w, b.root), /^\[DONE\] /);
    assert.match(serve.output, /request closed.*reason=cli/);

    const mixed = await runCli(["tickets", "close", "2", "99"], w.env);
    assert.equal(mixed.code, 3, mixed.stderr);
    assert.match(mixed.stderr, /there is no request #99/);
    assert.match(mixed.stderr, /#2 was already closed/);
    assert.equal(serve.exitCode, undefined);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("config set from the shell applies in a running serve at once", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const set = await runCli(["config", "set", "text.greetings", "Hello from the shell!"], w.env);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.stdout.trim().split("\n"), ["text.greetings = Hello from the shell!", "(the running serve uses it now)"]);
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "hi");
    const greeting = await waitFor(async () => (await botSaid(w.customer, dm, w.bot))[0], { what: "the greeting", timeoutMs: 20_000 });
    assert.equal(greeting, "Hello from the shell!");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
