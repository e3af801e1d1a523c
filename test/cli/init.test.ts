import assert from "node:assert/strict";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { makeInit } from "../../src/cli/commands/init.ts";
import { validateWith, type Prompter } from "../../src/cli/init-wizard.ts";
import { createCliContext } from "../../src/cli/context.ts";
import { loadConfig } from "../../src/config/load.ts";
import { loginUser, registerUser, skipUnlessSynapse, uniqueName } from "../support/synapse.ts";

const PASSWORD = "init test password that is long enough";

/** Answers questions from a script, in order, checking each answer with the question's validator. */
class ScriptedPrompter implements Prompter {
  readonly asked: string[] = [];
  readonly notes: string[] = [];
  note(text: string): void {
    this.notes.push(text);
  }
  constructor(private readonly answers: (string | boolean)[]) {}
  private next(message: string): string | boolean {
    this.asked.push(message);
    const a = this.answers.shift();
    if (a === undefined) throw new Error(`no scripted answer for "${message}"`);
    return a;
  }
  input(q: { message: string; default?: string; validate: (v: string) => true | string }): Promise<string> {
    const a = String(this.next(q.message));
    const value = a === "" ? (q.default ?? "") : a;
    const ok = q.validate(value);
    return ok === true ? Promise.resolve(value) : Promise.reject(new Error(`rejected "${value}": ${ok}`));
  }
  password(q: { message: string; validate: (v: string) => true | string }): Promise<string> {
    return this.input(q);
  }
  select<T extends string>(q: { message: string; choices: readonly { value: T }[]; default?: T }): Promise<T> {
    const a = String(this.next(q.message));
    const choice = q.choices.find((c) => c.value === a) ?? q.choices.find((c) => c.value === q.default);
    return choice ? Promise.resolve(choice.value) : Promise.reject(new Error("no choice"));
  }
  confirm(q: { message: string; default: boolean }): Promise<boolean> {
    const a = this.next(q.message);
    return Promise.resolve(typeof a === "boolean" ? a : q.default);
  }
}

describe("honoroit init", () => {
  it("checks every answer against the real homeserver and database, asks again with the reason, then writes the file", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const botName = uniqueName("honoroit-init");
    await registerUser(hs, botName, PASSWORD);
    const operator = await registerUser(hs, uniqueName("operator"), PASSWORD);
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-init-"));
    const file = path.join(dir, "honoroit.config.json");
    const prompter = new ScriptedPrompter([
      "http://127.0.0.1:1", // nothing answers there
      hs.url,
      "password", botName, "not the password",
      "password", botName, PASSWORD,
      "existing", "!nosuchroom:localhost",
      "create", operator.userId,
      "sqlite", "",
      false, // no Redmine
      "",
      false,
    ]);
    const init = makeInit(() => Promise.resolve(prompter), () => true);
    const ctx = createCliContext({ config: file, logLevel: "warn" }, {});
    t.after(() => ctx.dispose());
    const out = await init.run({ args: [], options: {} }, ctx);
    assert.equal(out.kind, "lines");
    const refusals = prompter.notes.filter((n) => n.startsWith("✗"));
    assert.equal(refusals.length, 3, prompter.notes.join("\n"));
    assert.match(refusals[0] ?? "", /nothing answers at http:\/\/127\.0\.0\.1:1/);
    assert.match(refusals[1] ?? "", /login failed for honoroit-init.*Invalid username or password/i);
    assert.match(refusals[2] ?? "", /!nosuchroom:localhost/);
    assert.ok(prompter.notes.some((n) => n.startsWith("✓ logged in as @honoroit-init")));

    assert.equal((await stat(file)).mode & 0o777, 0o600, "the file holds a secret");
    const written = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    assert.equal(written["homeserver"], hs.url);
    assert.equal(written["login"], botName);
    assert.equal(written["password"], PASSWORD);
    assert.match(String(written["roomId"]), /^!/);
    assert.deepEqual(written["db"], { dialect: "sqlite", dsn: "honoroit.db" });
    assert.equal(written["port"], 8080);
    assert.equal(Buffer.byteLength(String(written["dataSecret"])), 32, "a data secret of 32 bytes was made for the user");
    const loaded = await loadConfig({ configFile: file, env: {} });
    assert.deepEqual(loaded.errors, []);

    // The operator was invited to the new room, with the room's highest power level.
    const operatorSync = (await (await fetch(`${hs.url}/_matrix/client/v3/sync?timeout=0`, { headers: { authorization: `Bearer ${operator.accessToken}` } })).json()) as { rooms?: { invite?: Record<string, unknown> } };
    assert.ok(Object.keys(operatorSync.rooms?.invite ?? {}).includes(String(written["roomId"])), "the operator is invited");
    const power = (await (await fetch(`${hs.url}/_matrix/client/v3/rooms/${encodeURIComponent(String(written["roomId"]))}/state/m.room.power_levels`, { headers: { authorization: `Bearer ${(await loginUser(hs, botName, PASSWORD)).accessToken}` } })).json()) as { users: Record<string, number> };
    assert.equal(power.users[operator.userId], 100);
    assert.match(out.lines.join("\n"), /ExecStart=.* --config .*honoroit\.config\.json serve/);
  });

  it("rejects bad answers with the loader's own messages", () => {
    assert.match(String(validateWith("homeserver")("matrix.example.org")), /not a URL/);
    assert.match(String(validateWith("roomId")("ops")), /!/);
    assert.match(String(validateWith("port")("99999")), /out of range/);
    assert.equal(validateWith("homeserver")("https://matrix.example.org"), true);
  });

  it("will not overwrite an existing file without --force, and needs a terminal", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-init-"));
    const file = path.join(dir, "honoroit.config.json");
    await writeFile(file, "{}");
    const init = makeInit(() => Promise.reject(new Error("must not prompt")), () => true);
    await assert.rejects(init.run({ args: [], options: {} }, createCliContext({ config: file }, {})), /exists already; use --force/);
    const noTty = makeInit(() => Promise.reject(new Error("must not prompt")), () => false);
    await assert.rejects(noTty.run({ args: [], options: { force: true } }, createCliContext({ config: file }, {})), /needs a terminal/);
  });
});
