// Switching from the Go bot: its account data (sealed with its data secret in both encodings,
// with plaintext mixed in) and its threads in a real operators room, imported with the real
// binary; then serve goes on with the old requests as the Go bot would have.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Preset } from "matrix-js-sdk";
import { GoBot, goSeal, goSealMap } from "../support/go-bot.ts";
import { bodyOf, relation, roomHistory, threadMessages } from "../support/room-history.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, PASSWORD, type Person, type World } from "./world.ts";

const SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes, as the Go bot requires 16/24/32

interface GoDeployment {
  readonly go: GoBot;
  readonly hs: string;
  readonly aliceDm: string;
  /** The open request's thread root. */
  readonly openRoot: string;
  readonly closedRoot: string;
  /** Alice's message the Go bot copied into the open thread, and the copy. */
  readonly aliceFirst: string;
  readonly aliceCopy: string;
}

/** Alice's request is open in the Go bot, Bob's was closed, Carol's was only counted. */
async function goDeployment(w: World, bob: Person, carol: Person): Promise<GoDeployment> {
  const go = await GoBot.login(w.hs, w.env["HONOROIT_LOGIN"] ?? "", PASSWORD);
  await go.join(w.opsRoom);
  const hs = w.bot.slice(w.bot.indexOf(":") + 1);

  const bobRoot = await go.root(w.opsRoom, `[OPEN] 1st request from ${hs} (1st by Bob Customer (${bob.userId}))`, bob.userId);
  await go.forward(w.opsRoom, bobRoot, bob.userId, "Bob Customer", "$bobsource:example.org", "my printer is on fire");
  await go.editRoot(w.opsRoom, bobRoot, `[DONE]  1st request from ${hs} (1st by Bob Customer (${bob.userId}))`);

  const { room_id: aliceDm } = await w.customer.client.createRoom({ is_direct: true, preset: Preset.TrustedPrivateChat, invite: [w.bot] });
  await go.join(aliceDm);
  const aliceFirst = (await w.customer.client.sendTextMessage(aliceDm, "hello from the Go days")).event_id;
  const openRoot = await go.root(w.opsRoom, `[OPEN] 2nd request from ${hs} (1st by Alice Customer (${w.customer.userId}))`, w.customer.userId);
  const aliceCopy = await go.forward(w.opsRoom, openRoot, w.customer.userId, "Alice Customer", aliceFirst, "hello from the Go days");
  await w.operator.client.sendEvent(w.opsRoom, openRoot as never, "m.room.message" as never, { msgtype: "m.text", body: "an old answer, relayed by the Go bot long ago" } as never);

  const countRoot = await go.root(w.opsRoom, `[DONE] 3rd request from ${hs} (1st by Carol Customer (${carol.userId}))`, carol.userId);
  await go.send(w.opsRoom, { msgtype: "m.notice", body: "Request has been counted.", event_id: "$countcommand", "m.relates_to": { rel_type: "m.thread", event_id: countRoot } });

  // Account data as the Go bot leaves it: both directions of each mapping, emptied when closed.
  await go.setAccountData(`cc.etke.honoroit.mapping.${openRoot}`, goSealMap(SECRET, { id: aliceDm }, "current"));
  await go.setAccountData(`cc.etke.honoroit.mapping.${aliceDm}`, goSealMap(SECRET, { id: openRoot }, "older"));
  await go.setAccountData(`cc.etke.honoroit.mapping.${bobRoot}`, {});
  await go.setAccountData(`cc.etke.honoroit.redmine.${openRoot}`, goSealMap(SECRET, { id: "42" }, "older"));
  await go.setAccountData("cc.etke.honoroit.redmine.42", goSealMap(SECRET, { id: openRoot }, "current"));
  await go.setAccountData(`cc.etke.honoroit.redmine.note.${openRoot}_7`, { synced: "true" });
  await go.setAccountData("cc.etke.honoroit.config", {
    [goSeal(SECRET, "text.greetings", "current")]: goSeal(SECRET, "Welcome back, we switched bots!", "current"),
    [goSeal(SECRET, "text.prefix.done", "older")]: goSeal(SECRET, "[DONE]", "older"),
    "text.done": "Closed, thanks! (written before the secret was set)",
    [goSeal(SECRET, "text.greetings.customer", "current")]: goSeal(SECRET, "This is your %s %s request.", "current"),
    mautrix015migration: "1690000000000",
  });
  return { go, hs, aliceDm, openRoot, closedRoot: bobRoot, aliceFirst, aliceCopy };
}

interface TicketJson {
  id: number;
  customer: string;
  status: string;
  title: string;
  threadRoot: string;
  customerRoom: string;
  redmineIssueId: number | null;
}

async function ticketsOf(w: World, env: Record<string, string>): Promise<TicketJson[]> {
  const list = await runCli(["tickets", "list", "--status", "all", "--json"], env);
  assert.equal(list.code, 0, list.stderr);
  return JSON.parse(list.stdout) as TicketJson[];
}

interface Summary {
  dryRun: boolean;
  openTickets: { imported: number; unchanged: number };
  closedTickets: { imported: number; unchanged: number };
  counters: { imported: number; unchanged: number };
  relays: { imported: number; unchanged: number };
  options: { imported: number; unchanged: number };
  redmineLinks: { imported: number; unchanged: number };
  notes: { imported: number; unchanged: number };
  syncPosition: string;
  skipped: { what: string; reason: string }[];
}

const importOnce = async (env: Record<string, string>, ...flags: string[]): Promise<Summary> => {
  const run = await runCli(["migrate", "--from-go", "--json", ...flags], env);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Summary;
};

describe("honoroit migrate --from-go", { timeout: 300_000 }, () => {
  for (const database of ["sqlite", "postgres"] as const) {
    it(`imports the Go bot's state once (${database}); serve goes on with its requests`, async (t) => {
      const w = await makeWorld(t, { database });
      if (w === undefined) return;
      const bob = await w.person("bob", "Bob Customer");
      const carol = await w.person("carol", "Carol Customer");
      const go = await goDeployment(w, bob, carol);
      const env = { ...w.env, HONOROIT_DATA_SECRET: SECRET };

      // Without the secret, or with a wrong one: a clear error, nothing written.
      const noSecret = await runCli(["migrate", "--from-go"], w.env);
      assert.equal(noSecret.code, 2, noSecret.stderr);
      assert.match(noSecret.stderr, /sealed .* no data secret is configured: set HONOROIT_DATA_SECRET/);
      const wrong = await runCli(["migrate", "--from-go"], { ...w.env, HONOROIT_DATA_SECRET: "fedcba9876543210fedcba9876543210" });
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.match(wrong.stderr, /the data secret does not open the Go bot's account data .* nothing was imported/);
      assert.deepEqual(await ticketsOf(w, env), []);

      // A dry run tells what would happen and writes nothing.
      const dry = await importOnce(env, "--dry-run");
      assert.equal(dry.dryRun, true);
      assert.deepEqual([dry.openTickets.imported, dry.closedTickets.imported], [1, 1]);
      assert.deepEqual(await ticketsOf(w, env), []);

      // A corrupt value stops the import, unless told to skip what cannot be read.
      const sealedId = goSeal(SECRET, "id", "current");
      const damaged = `${sealedId.slice(0, 12)}${sealedId[12] === "A" ? "B" : "A"}${sealedId.slice(13)}`;
      await go.go.setAccountData("cc.etke.honoroit.mapping.$corrupt", { [damaged]: goSeal(SECRET, "!x:y", "current") });
      const corrupt = await runCli(["migrate", "--from-go"], env);
      assert.equal(corrupt.code, 2, corrupt.stderr + corrupt.stdout);
      assert.match(corrupt.stderr, /1 of the Go bot's account-data entries cannot be read \(corrupt\?\).*--skip-unreadable/);
      assert.match(corrupt.stderr, /cc\.etke\.honoroit\.mapping\.\$corrupt/);
      assert.deepEqual(await ticketsOf(w, env), []);

      const first = await importOnce(env, "--skip-unreadable");
      assert.deepEqual(
        [first.openTickets, first.closedTickets, first.relays, first.redmineLinks, first.notes],
        [{ imported: 1, unchanged: 0 }, { imported: 1, unchanged: 0 }, { imported: 1, unchanged: 0 }, { imported: 1, unchanged: 0 }, { imported: 1, unchanged: 0 }],
      );
      assert.equal(first.options.imported, 3, JSON.stringify(first));
      assert.equal(first.syncPosition, "saved");
      const skippedWhat = first.skipped.map((s) => s.what);
      assert.ok(skippedWhat.includes("cc.etke.honoroit.mapping.$corrupt"), JSON.stringify(first.skipped));
      assert.ok(skippedWhat.some((s) => s.startsWith("option text.greetings.customer")), "a value our validation rejects is reported, not imported");
      assert.ok(skippedWhat.includes("option mautrix015migration"));

      // A second import changes nothing.
      const second = await importOnce(env, "--skip-unreadable");
      for (const kind of ["openTickets", "closedTickets", "counters", "relays", "options", "redmineLinks", "notes"] as const) {
        assert.equal(second[kind].imported, 0, `${kind} imported again: ${JSON.stringify(second[kind])}`);
      }
      assert.equal(second.syncPosition, "kept");

      const tickets = await ticketsOf(w, env);
      const open = tickets.find((x) => x.status === "open");
      const closed = tickets.find((x) => x.status === "closed");
      assert.equal(tickets.length, 2, JSON.stringify(tickets));
      assert.equal(open?.customer, w.customer.userId);
      assert.equal(open.threadRoot, go.openRoot);
      assert.equal(open.customerRoom, go.aliceDm);
      assert.equal(open.redmineIssueId, 42);
      assert.equal(closed?.customer, bob.userId);
      assert.equal(closed.threadRoot, go.closedRoot);
      assert.match(closed.title, /^\[DONE\] {2}1st request from/);
      const greetings = await runCli(["config", "get", "text.greetings"], env);
      assert.match(greetings.stdout, /Welcome back, we switched bots!/);
      if (database === "postgres") return;

      // serve, with the Go bot's environment (its listen-address form of HONOROIT_PORT too):
      // the open request goes on in its old thread.
      const serve = w.track(await ServeProcess.start({ ...env, HONOROIT_PORT: `:${w.port}` }));
      await waitFor(async () => ((await serve.health(w.port)).status === 200 ? true : undefined), { what: "/_health on the Go bot's listen address", timeoutMs: 20_000 });
      assert.match(serve.output, /0\.0\.0\.0/);
      await w.customer.client.sendTextMessage(go.aliceDm, "are you still there?");
      const copied = await waitFor(async () => threadMessages(await roomHistory(w.operator.client, w.opsRoom), go.openRoot).find((e) => bodyOf(e).includes("are you still there?")), {
        what: "Alice's new message in her old thread",
        timeoutMs: 30_000,
      });
      assert.equal(relation(copied).event_id, go.openRoot);
      await w.operator.client.sendEvent(w.opsRoom, go.openRoot as never, "m.room.message" as never, { msgtype: "m.text", body: "Yes, still here after the switch." } as never);
      await waitFor(async () => ((await roomHistory(w.customer.client, go.aliceDm)).some((e) => e.sender === w.bot && bodyOf(e) === "Yes, still here after the switch.") ? true : undefined), {
        what: "the operator's answer in Alice's room",
        timeoutMs: 30_000,
      });
      const oldAnswerRelayed = (await roomHistory(w.customer.client, go.aliceDm)).filter((e) => bodyOf(e).includes("an old answer")).length;
      assert.equal(oldAnswerRelayed, 0, "history from before the import is not relayed again");

      // !ho done in the old thread closes it, with the Go bot's done text.
      await w.operator.client.sendEvent(w.opsRoom, go.openRoot as never, "m.room.message" as never, { msgtype: "m.text", body: "!ho done" } as never);
      await waitFor(async () => ((await roomHistory(w.customer.client, go.aliceDm)).some((e) => bodyOf(e) === "Closed, thanks! (written before the secret was set)") ? true : undefined), {
        what: "the done text in Alice's room",
        timeoutMs: 30_000,
      });
      assert.equal((await ticketsOf(w, env)).find((x) => x.threadRoot === go.openRoot)?.status, "closed");

      // A new request counts on from the Go bot's ordinals: three roots from this homeserver before.
      const dave = await w.person("dave", "Dave Customer");
      const daveDm = await w.openDm(dave);
      await dave.client.sendTextMessage(daveDm, "a new question");
      const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && e.content["customer"] === dave.userId), { what: "Dave's thread", timeoutMs: 30_000 });
      assert.match(bodyOf(root), new RegExp(`^\\[OPEN\\] 4th request from ${go.hs.replace(/\./g, "\\.")} \\(1st by Dave Customer`));
      assert.equal(await serve.stop("SIGTERM"), 0);
    });
  }
});
