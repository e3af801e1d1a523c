import assert from "node:assert/strict";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { makeInit, validateWith, type Prompter } from "../../src/cli/commands/init.ts";
import { createCliContext } from "../../src/cli/context.ts";
import { loadConfig } from "../../src/config/load.ts";

/** Answers questions from a script, in order, checking each answer with the question's validator. */
class ScriptedPrompter implements Prompter {
  readonly asked: string[] = [];
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
  it("writes a private config file that the loader accepts, and creates the database", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-init-"));
    const file = path.join(dir, "honoroit.config.json");
    const prompter = new ScriptedPrompter(["https://matrix.example.org", "password", "honoroit", "s3cret pass", "!ops:example.org", "sqlite", "", "8081", true]);
    const init = makeInit(() => Promise.resolve(prompter), () => true);
    const ctx = createCliContext({ config: file }, {});
    const out = await init.run({ args: [], options: {} }, ctx);
    assert.equal(out.kind, "lines");
    assert.deepEqual(out.lines, [`wrote ${file}`, `database ready (${path.join(dir, "honoroit.db")})`, `start the bot with: npx honoroit --config ${file} serve`]);
    assert.equal((await stat(file)).mode & 0o777, 0o600, "the file holds a secret");
    const written = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    assert.deepEqual(written, { homeserver: "https://matrix.example.org", login: "honoroit", password: "s3cret pass", roomId: "!ops:example.org", db: { dialect: "sqlite", dsn: "honoroit.db" }, port: 8081 });
    const loaded = await loadConfig({ configFile: file, env: {} });
    assert.deepEqual(loaded.errors, []);
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
