// The two-way Redmine sync against a real Redmine, a real Synapse and the real binary: what
// an operator sees in Redmine and in the thread, and what the customer sees.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { bodyOf, roomHistory, threadMessages } from "../support/room-history.ts";
import { RedmineApi, redmineSettings, skipUnlessRedmine, type Issue } from "../support/redmine.ts";
import { freePort, runCli, ServeProcess } from "../support/serve-process.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, type Person, type World } from "./world.ts";

async function openRequest(w: World, who: Person, text: string): Promise<{ dm: string; root: string }> {
  const dm = await w.openDm(who);
  await who.client.sendTextMessage(dm, text);
  const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && e.content["customer"] === who.userId && bodyOf(e).startsWith("[OPEN]"))?.event_id, { what: `the thread of ${who.userId}`, timeoutMs: 20_000 });
  return { dm, root };
}

async function reply(w: World, root: string, text: string): Promise<void> {
  await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, { msgtype: "m.text", body: text, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } } as never);
}

/** The Redmine issue of a ticket, once serve has created it. */
async function issueOf(w: World, ticket: number): Promise<number> {
  return waitFor(async () => {
    const list = await runCli(["tickets", "list", "--status", "all", "--json"], w.env);
    const found = (JSON.parse(list.stdout) as { id: number; redmineIssueId: number | null }[]).find((t) => t.id === ticket);
    return found?.redmineIssueId ?? undefined;
  }, { what: `the Redmine issue of request #${ticket}`, timeoutMs: 30_000, intervalMs: 500 });
}

/** Uploads bytes to the homeserver's media repository as the person's client does; returns the mxc URI. */
async function uploadFile(who: Person, data: Uint8Array, name: string, type: string): Promise<string> {
  return (await who.client.uploadContent(new Blob([data], { type }), { name, type })).content_uri;
}

/** Sends a file message (in the operators' thread when `root` is given). */
async function sendFile(who: Person, room: string, file: { msgtype: string; body: string; filename?: string; mxc: string; type: string; size: number }, root?: string): Promise<void> {
  const thread = root === undefined ? {} : { "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } };
  const content = { msgtype: file.msgtype, body: file.body, ...(file.filename === undefined ? {} : { filename: file.filename }), url: file.mxc, info: { mimetype: file.type, size: file.size }, ...thread };
  await who.client.sendEvent(room, "m.room.message" as never, content as never);
}

const notesOf = (issue: Issue): string[] => (issue.journals ?? []).map((j) => j.notes).filter((n) => n !== "");
const botSaid = async (who: Person, dm: string, bot: string): Promise<string[]> => (await roomHistory(who.client, dm)).filter((e) => e.sender === bot && e.type === "m.room.message").map(bodyOf);
const inThread = async (w: World, root: string): Promise<string[]> => threadMessages(await roomHistory(w.operator.client, w.opsRoom), root).filter((e) => e.sender === w.bot).map(bodyOf);

describe("Redmine sync", { timeout: 300_000 }, () => {
  it("a request becomes an issue; messages become notes with the status; people's notes come back; done closes the issue", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    const env = { ...w.env, ...redmineSettings(rm) };
    const serve = w.track(await ServeProcess.start(env));
    assert.match(serve.output, /Redmine sync on.*user=honoroit/);

    const { dm, root } = await openRequest(w, w.customer, "My printer is on fire");
    const id = await issueOf({ ...w, env }, 1);
    const created = await human.issue(id);
    assert.match(created.subject, /request from .* \(1st by Alice Customer/);
    assert.ok(created.description.includes(w.customer.userId), created.description);
    assert.ok(created.description.includes(`https://matrix.to/#/${encodeURIComponent(w.opsRoom)}/${encodeURIComponent(root)}`), created.description);
    assert.equal(created.tracker.id, 3);

    // The first message, then an operator's answer: notes in order, status follows who waits.
    const first = await waitFor(async () => {
      const i = await human.issue(id);
      return notesOf(i).some((n) => n.includes("My printer is on fire")) ? i : undefined;
    }, { what: "the customer's message as a note", timeoutMs: 30_000, intervalMs: 300 });
    assert.equal(first.status.name, "New");
    assert.match(notesOf(first)[0] ?? "", new RegExp(`^${w.customer.userId.replace(/[.$]/g, "\\$&")} \\(customer\\):\\n\\nMy printer is on fire$`));
    await reply(w, root, "Please step away from it");
    const answered = await waitFor(async () => {
      const i = await human.issue(id);
      return notesOf(i).some((n) => n.includes("Please step away from it")) ? i : undefined;
    }, { what: "the operator's answer as a note", timeoutMs: 30_000, intervalMs: 300 });
    assert.equal(answered.status.name, "In Progress");
    assert.match(notesOf(answered)[1] ?? "", /\(operator\):\n\nPlease step away from it$/);

    // People's notes in Redmine: public ones to the thread and the customer, private to the thread only.
    await human.note(id, "The fire brigade is on its way.");
    await human.note(id, "Internal: bill them for the printer", { private: true });
    await waitFor(async () => ((await inThread(w, root)).some((b) => b.includes("Internal: bill them")) ? true : undefined), { what: "the private note in the thread", timeoutMs: 30_000, intervalMs: 300 });
    const thread = await inThread(w, root);
    assert.ok(thread.includes("Olive Operator in Redmine:\nThe fire brigade is on its way."), thread.join(" | "));
    assert.ok(thread.includes("Olive Operator in Redmine (private note, not sent to the customer):\nInternal: bill them for the printer"), thread.join(" | "));
    await waitFor(async () => ((await botSaid(w.customer, dm, w.bot)).includes("The fire brigade is on its way.") ? true : undefined), { what: "the public note at the customer", timeoutMs: 20_000 });
    const customerSees = await botSaid(w.customer, dm, w.bot);
    assert.ok(!customerSees.some((b) => b.includes("bill them")), "a private note never reaches the customer");
    // The bot's own notes do not come back as people's notes.
    assert.ok(!thread.some((b) => b.includes("(customer):")), thread.join(" | "));

    // Closed in Matrix: the issue is done.
    await reply(w, root, "!ho done");
    const done = await waitFor(async () => {
      const i = await human.issue(id);
      return i.status.id === 5 ? i : undefined;
    }, { what: "the issue to be closed", timeoutMs: 30_000, intervalMs: 300 });
    assert.equal(done.status.name, "Closed");
    // Each Matrix message once: the two notes and no more.
    assert.equal(notesOf(done).filter((n) => n.includes("My printer is on fire")).length, 1);
    assert.equal(notesOf(done).filter((n) => n.includes("Please step away")).length, 1);
    assert.equal(serve.exitCode, undefined);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("an issue closed in Redmine closes the request with the usual notice; a note relayed once across restarts", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    const env = { ...w.env, ...redmineSettings(rm) };
    let serve = w.track(await ServeProcess.start(env));
    const { dm, root } = await openRequest(w, w.customer, "Where is my parcel?");
    const id = await issueOf({ ...w, env }, 1);
    assert.equal(await serve.stop("SIGTERM"), 0);

    // Written while serve is stopped: relayed after it starts, once, however often it restarts.
    await human.note(id, "It left our warehouse today.");
    serve = w.track(await ServeProcess.start(env));
    await waitFor(async () => ((await inThread(w, root)).some((b) => b.includes("It left our warehouse")) ? true : undefined), { what: "the note written while serve was stopped", timeoutMs: 30_000, intervalMs: 300 });
    assert.equal(await serve.stop("SIGTERM"), 0);
    serve = w.track(await ServeProcess.start(env));
    await human.note(id, "Closing this, enjoy!", { statusId: 5 });
    await waitFor(async () => ((await botSaid(w.customer, dm, w.bot)).some((b) => /resolved|closed|done/i.test(b) && !b.includes("Closing this")) ? true : undefined), { what: "the customer's done notice", timeoutMs: 30_000, intervalMs: 300 });
    const thread = await inThread(w, root);
    assert.equal(thread.filter((b) => b.includes("It left our warehouse")).length, 1, thread.join(" | "));
    assert.equal(thread.filter((b) => b.includes("Closing this, enjoy!")).length, 1, thread.join(" | "));
    const customer = await botSaid(w.customer, dm, w.bot);
    assert.equal(customer.filter((b) => b === "It left our warehouse today.").length, 1);
    assert.ok(customer.includes("Closing this, enjoy!"));
    const list = await runCli(["tickets", "list", "--status", "all", "--json"], env);
    const ticket = (JSON.parse(list.stdout) as { id: number; status: string; closeReason?: string }[])[0];
    assert.equal(ticket?.status, "closed");
    // Closed there: left as Redmine has it (the done status is not written back over it).
    assert.equal((await human.issue(id)).status.id, 5);
    assert.match(serve.output, /request closed because its Redmine issue was closed/);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});

describe("Redmine sync: files", { timeout: 300_000 }, () => {
  it("a customer's image and an operator's file are attached to their notes, byte for byte; a file over Redmine's limit is named in its note", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    const env = { ...w.env, ...redmineSettings(rm) };
    const serve = w.track(await ServeProcess.start(env));
    const { dm, root } = await openRequest(w, w.customer, "My printer is smoking, photo follows");
    const id = await issueOf({ ...w, env }, 1);

    const photo = new Uint8Array(randomBytes(300_000));
    await sendFile(w.customer, dm, { msgtype: "m.image", body: "printer.png", mxc: await uploadFile(w.customer, photo, "printer.png", "image/png"), type: "image/png", size: photo.byteLength });
    const manual = new Uint8Array(randomBytes(40_000));
    // A caption as the body, the file's name in `filename`.
    await sendFile(w.operator, w.opsRoom, { msgtype: "m.file", body: "The manual, see page 3", filename: "manual.pdf", mxc: await uploadFile(w.operator, manual, "manual.pdf", "application/pdf"), type: "application/pdf", size: manual.byteLength }, root);
    // Over Redmine's default limit of 5 MB (and under the test Synapse's 10 MB).
    const logs = new Uint8Array(randomBytes(6 * 1024 * 1024));
    await sendFile(w.customer, dm, { msgtype: "m.file", body: "logs.zip", mxc: await uploadFile(w.customer, logs, "logs.zip", "application/zip"), type: "application/zip", size: logs.byteLength });
    await w.customer.client.sendTextMessage(dm, "Did the logs arrive?");

    const issue = await waitFor(async () => {
      const i = await human.issue(id);
      return notesOf(i).some((n) => n.endsWith("Did the logs arrive?")) ? i : undefined;
    }, { what: "the notes of the three files and the message after them", timeoutMs: 60_000, intervalMs: 500 });
    const customer = w.customer.userId.replace(/[.$]/g, "\\$&");
    const notes = notesOf(issue);
    assert.equal(notes.length, 5, notes.join(" | "));
    assert.match(notes[1] ?? "", new RegExp(`^${customer} \\(customer\\):\\n\\nprinter\\.png$`));
    assert.match(notes[2] ?? "", /\(operator\):\n\nThe manual, see page 3$/);
    assert.match(notes[3] ?? "", new RegExp(`^${customer} \\(customer\\):\\n\\nlogs\\.zip\\n\\n\\(File "logs\\.zip", 6\\.0 MB, is not attached: Redmine refused it: This file cannot be uploaded because it exceeds the maximum allowed file size \\(5242880\\)\\)$`));

    // Each file is on its note's journal, as the bot's API user, with the sender's name and type.
    const attached = issue.attachments ?? [];
    assert.deepEqual(attached.map((a) => [a.filename, a.content_type, a.filesize, a.author.name]), [["printer.png", "image/png", photo.byteLength, "Honoroit Bot"], ["manual.pdf", "application/pdf", manual.byteLength, "Honoroit Bot"]]);
    const journalOf = (filename: string) => (issue.journals ?? []).find((j) => j.details.some((d) => d.property === "attachment" && d.new_value === filename));
    assert.match(journalOf("printer.png")?.notes ?? "", /printer\.png$/);
    assert.match(journalOf("manual.pdf")?.notes ?? "", /see page 3$/);
    const [photoThere, manualThere] = attached;
    assert.ok(photoThere !== undefined && manualThere !== undefined);
    assert.deepEqual(await human.download(photoThere), Buffer.from(photo));
    assert.deepEqual(await human.download(manualThere), Buffer.from(manual));
    assert.equal(issue.status.name, "New", "the customer's message after the operator's file waits for an operator");

    // Nothing waits or failed: the refused file did not hold up what came after it.
    const health = await serve.health(w.port);
    assert.equal(health.body.status, "ok", JSON.stringify(health.body));
    assert.match(serve.output, /Redmine did not take a file sent in a request.*file=logs\.zip/);
    assert.doesNotMatch(serve.output, /a job failed for good/);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});

describe("Redmine sync, when Redmine fails", { timeout: 300_000 }, () => {
  it("a key Redmine does not know stops serve at start, naming the setting", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start({ ...w.env, ...redmineSettings(rm), HONOROIT_REDMINE_APIKEY: "0123456789abcdef0123456789abcdef01234567" }, { waitUntilServing: false }));
    assert.equal(await serve.stop("SIGCONT"), 2, serve.output);
    assert.match(serve.output, /does not accept the API key in redmine\.apiKey \(HONOROIT_REDMINE_APIKEY\): GET \/users\/current\.json answered 401/);
  });

  it("a project that does not exist stops serve at start, naming the setting", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start({ ...w.env, ...redmineSettings(rm), HONOROIT_REDMINE_PROJECT: "no-such-project" }, { waitUntilServing: false }));
    assert.equal(await serve.stop("SIGCONT"), 2, serve.output);
    assert.match(serve.output, /has no project "no-such-project" that user honoroit can see \(redmine\.project, HONOROIT_REDMINE_PROJECT\)/);
  });

  it("a refusal (the project deleted) is told once in the thread and logged, and the request goes on without Redmine", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    const project = `gone-${Date.now()}`;
    await human.createProject(project);
    const env = { ...w.env, ...redmineSettings(rm), HONOROIT_REDMINE_PROJECT: project };
    const serve = w.track(await ServeProcess.start(env));
    await human.deleteProject(project);
    const { dm, root } = await openRequest(w, w.customer, "Hello?");
    const notice = await waitFor(async () => (await inThread(w, root)).find((b) => b.startsWith("Redmine refused")), { what: "the refusal in the thread", timeoutMs: 30_000, intervalMs: 300 });
    assert.match(notice, /^Redmine refused an issue for this request: Redmine refused POST \/issues\.json with 422: Project cannot be blank.*\. It is not tried again\.$/);
    await reply(w, root, "We are here");
    await waitFor(async () => ((await botSaid(w.customer, dm, w.bot)).includes("We are here") ? true : undefined), { what: "the reply at the customer", timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal((await inThread(w, root)).filter((b) => b.startsWith("Redmine refused")).length, 1);
    assert.equal(serve.output.match(/a job failed for good.*kind=redmine\.opened/g)?.length, 1, serve.output);
    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    assert.match(metrics, /honoroit_redmine_errors_total\{cause="final"\} [1-9]/);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("Redmine unreachable during traffic, then back: every message arrives as a note, in order, once", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    const target = new URL(rm.url);
    const proxy = new TcpProxy(await freePort(), { host: target.hostname, port: Number(target.port) });
    await proxy.open();
    t.after(() => proxy.cut());
    const env = { ...w.env, ...redmineSettings(rm, `http://127.0.0.1:${proxy.port}`) };
    const serve = w.track(await ServeProcess.start(env));
    const { dm, root } = await openRequest(w, w.customer, "message 1");
    const id = await issueOf({ ...w, env }, 1);

    await proxy.cut();
    const started = Date.now();
    const sent: string[] = ["message 1"];
    for (let i = 2; i <= 4; i++) {
      const customer = `message ${i}`;
      await w.customer.client.sendTextMessage(dm, customer);
      sent.push(customer);
      const operator = `answer ${i}`;
      // Relaying does not wait for Redmine: each copy is in the thread before the next answer.
      await waitFor(async () => ((await inThread(w, root)).some((b) => b.endsWith(customer)) ? true : undefined), { what: `${customer} in the thread`, timeoutMs: 20_000 });
      await reply(w, root, operator);
      sent.push(operator);
    }
    t.diagnostic(`relayed 6 messages with Redmine unreachable in ${Date.now() - started} ms`);
    const health = await waitFor(async () => {
      const h = await serve.health(w.port);
      return h.body.checks?.["redmine"]?.ok === false ? h : undefined;
    }, { what: "/_health to show Redmine failing", timeoutMs: 20_000, intervalMs: 300 });
    assert.match(health.body.checks?.["redmine"]?.detail ?? "", /unreachable/);
    const metrics = await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text();
    assert.match(metrics, /honoroit_redmine_errors_total\{cause="unavailable"\} [1-9]/);
    assert.match(metrics, /honoroit_redmine_outbox_jobs [1-9]/);

    await proxy.open();
    const issue = await waitFor(async () => {
      const i = await human.issue(id);
      return sent.every((s) => notesOf(i).some((n) => n.endsWith(`\n\n${s}`))) ? i : undefined;
    }, { what: "every message as a note", timeoutMs: 90_000, intervalMs: 500 });
    const order = notesOf(issue).map((n) => n.split("\n\n")[1]);
    assert.deepEqual(order, sent);
    assert.equal(issue.status.name, "In Progress");
    // Healthy again: /_health answers the Go bot's plain {"status":"ok"}.
    await waitFor(async () => ((await serve.health(w.port)).body.status === "ok" ? true : undefined), { what: "/_health to be ok again", timeoutMs: 20_000, intervalMs: 300 });
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});

describe("honoroit redmine resync", { timeout: 300_000 }, () => {
  it("creates the issue of a request opened before the sync, relays missed notes once, with serve stopped and running", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const human = RedmineApi.human(rm);
    // Opened while Redmine was not configured.
    let serve = w.track(await ServeProcess.start(w.env));
    const { dm, root } = await openRequest(w, w.customer, "Opened before Redmine");
    assert.equal(await serve.stop("SIGTERM"), 0);
    const env = { ...w.env, ...redmineSettings(rm) };

    const dry = await runCli(["redmine", "resync", "--dry-run"], env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(dry.stdout.trim().split("\n"), ["#1 (no issue): create its issue", "1 request(s) checked, 1 out of step (dry run: nothing done)"]);

    const first = await runCli(["redmine", "resync"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /1 request\(s\) checked, 1 out of step: done here/);
    const id = await issueOf({ ...w, env }, 1);
    assert.match((await human.issue(id)).subject, /request from .*Alice Customer/);

    await human.note(id, "Noted while nobody listened");
    const dryNotes = await runCli(["redmine", "resync", "--dry-run", "--ticket", "1"], env);
    assert.match(dryNotes.stdout, new RegExp(`#1 \\(issue #${id}\\): relay 1 note\\(s\\) to the thread`));
    const second = await runCli(["redmine", "resync", "--ticket", "1", "--json"], env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { done: boolean }).done, true);
    await waitFor(async () => ((await inThread(w, root)).some((b) => b.endsWith("Noted while nobody listened")) ? true : undefined), { what: "the missed note in the thread", timeoutMs: 20_000 });
    const inStep = await runCli(["redmine", "resync"], env);
    assert.match(inStep.stdout, /#1 \(issue #\d+\): in step\n1 request\(s\) checked, 0 out of step/);

    // With serve running, resync and the poll share the outbox and the note markers: once.
    serve = w.track(await ServeProcess.start(env));
    await human.note(id, "Written while serve runs");
    const third = await runCli(["redmine", "resync"], env);
    assert.equal(third.code, 0, third.stderr);
    await waitFor(async () => ((await botSaid(w.customer, dm, w.bot)).includes("Written while serve runs") ? true : undefined), { what: "the note at the customer", timeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const thread = await inThread(w, root);
    assert.equal(thread.filter((b) => b.endsWith("Noted while nobody listened")).length, 1, thread.join(" | "));
    assert.equal(thread.filter((b) => b.endsWith("Written while serve runs")).length, 1, thread.join(" | "));
    assert.equal((await botSaid(w.customer, dm, w.bot)).filter((b) => b === "Written while serve runs").length, 1);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
