// `honoroit tickets show`: a request and its transcript as an operator reads it from a shell,
// beside a running serve (it only reads).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyOf, roomHistory } from "../support/room-history.ts";
import { runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld } from "./world.ts";

interface Shown {
  id: number;
  status: string;
  transcript: { role: string; author: string; text: string; internal: boolean }[];
}

describe("honoroit tickets show", { timeout: 180_000 }, () => {
  it("shows both sides in order, with authors, notes marked internal", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const serve = w.track(await ServeProcess.start(w.env));
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "my printer is on fire");
    const root = await waitFor(async () => (await roomHistory(w.operator.client, w.opsRoom)).find((e) => e.sender === w.bot && e.content["customer"] === w.customer.userId)?.event_id, { what: "the thread", timeoutMs: 30_000 });
    // The copy of the first message is in the thread before anyone answers it.
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => e.sender === w.bot && bodyOf(e).endsWith("my printer is on fire")) ? true : undefined), { what: "the first copy", timeoutMs: 30_000 });
    const inThread = (body: string): Record<string, unknown> => ({ msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } } });
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, inThread("Please switch it off first.") as never);
    await waitFor(async () => ((await roomHistory(w.customer.client, dm)).some((e) => bodyOf(e) === "Please switch it off first.") ? true : undefined), { what: "the answer", timeoutMs: 30_000 });
    await w.operator.client.sendEvent(w.opsRoom, "m.room.message" as never, inThread("!ho note the fire brigade was called") as never);
    await w.customer.client.sendTextMessage(dm, "done, it is off");
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => bodyOf(e).endsWith("done, it is off")) ? true : undefined), { what: "the second copy", timeoutMs: 30_000 });

    const json = await runCli(["tickets", "show", "1", "--json"], w.env);
    assert.equal(json.code, 0, json.stderr);
    const shown = JSON.parse(json.stdout) as Shown;
    assert.equal(shown.status, "open");
    const said = shown.transcript.filter((l) => l.role !== "bot").map((l) => [l.role, l.author, l.text, l.internal]);
    assert.deepEqual(said, [
      ["customer", w.customer.userId, "my printer is on fire", false],
      ["operator", w.operator.userId, "Please switch it off first.", false],
      ["operator", w.operator.userId, "!ho note the fire brigade was called", true],
      ["customer", w.customer.userId, "done, it is off", false],
    ]);
    const text = await runCli(["tickets", "show", "#1"], w.env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^#1 open: \[OPEN\] /);
    assert.match(text.stdout, /\(operator, internal\): !ho note the fire brigade was called/);
    assert.match(text.stdout, /\(customer\): my printer is on fire/);

    const unknown = await runCli(["tickets", "show", "99"], w.env);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /there is no request #99/);
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
