import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import type { CommandInput } from "../../src/cli/command.ts";
import type { CliCommand } from "../../src/cli/command.ts";
import { parseSetArgs } from "../../src/cli/commands/config-set.ts";
import { COMMANDS } from "../../src/cli/commands/index.ts";
import type { CliContext, GlobalOptions } from "../../src/cli/context.ts";
import type { Output } from "../../src/cli/output.ts";
import type { HonoroitConfig } from "../../src/config/schema.ts";
import { HonoroitError } from "../../src/core/errors.ts";
import { OPTION_KEYS } from "../../src/core/options.ts";
import type { Clock, Logger, Store } from "../../src/core/ports.ts";
import { SqliteDatabase } from "../../src/adapters/storage/sqlite-database.ts";
import { SqlStore } from "../../src/adapters/storage/sql-store.ts";

/** A command of the table, by its words: its handler loads as the binary's would. */
function command(...path: string[]): CliCommand {
  const found = COMMANDS.find((c) => c.path.join(" ") === path.join(" "));
  if (found === undefined) throw new Error(`no command ${path.join(" ")}`);
  return found;
}

const configGet = command("config", "get");
const configSet = command("config", "set");

class SilentLogger implements Logger {
  debug(): void {
    // not needed here
  }
  info(): void {
    // not needed here
  }
  warn(): void {
    // not needed here
  }
  error(): void {
    // not needed here
  }
}

const contexts: FakeCliContext[] = [];
afterEach(async () => {
  for (const ctx of contexts.splice(0)) await ctx.dispose();
});

/** A CLI context over a private in-memory SQLite store; records whether the store was opened. */
class FakeCliContext implements CliContext {
  readonly globals: GlobalOptions = {};
  readonly clock: Clock = { now: () => new Date("2025-01-01T00:00:00Z") };
  storeOpened = false;
  readonly memory = new SqlStore(SqliteDatabase.open(":memory:"));

  constructor() {
    contexts.push(this);
  }

  /** Only where the store is (to find a running serve): the config commands need nothing else. */
  config(): Promise<HonoroitConfig> {
    const onlyTheStore: Pick<HonoroitConfig, "db"> = { db: { dialect: "sqlite", dsn: ":memory:" } };
    return Promise.resolve(onlyTheStore as HonoroitConfig);
  }
  logger(): Promise<Logger> {
    return Promise.resolve(new SilentLogger());
  }
  async store(): Promise<Store> {
    this.storeOpened = true;
    await this.memory.migrate();
    return this.memory;
  }
  onDispose(): void {
    // nothing to release
  }
  dispose(): Promise<void> {
    return this.memory.close();
  }
}

function input(...args: string[]): CommandInput {
  return { args, options: {} };
}

function lines(output: Output): readonly string[] {
  assert.equal(output.kind, "lines");
  return output.lines;
}

function isBadArgument(...parts: string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof HonoroitError);
    assert.equal(e.code, "BAD_ARGUMENT");
    assert.equal(e.exitCode, 2);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
    return true;
  };
}

describe("config set: arguments", () => {
  const good: readonly (readonly [args: readonly string[], key: string, value: string])[] = [
    [["silent", "true"], "silent", "true"],
    [["SILENT", "yes"], "silent", "yes"],
    [["text.greetings", "Hello", "there!"], "text.greetings", "Hello there!"],
    [["text.greetings", "Hello there!"], "text.greetings", "Hello there!"],
    [["allow.users", "@*:example.com,", "@bob:x"], "allow.users", "@*:example.com, @bob:x"],
    [["ignore.rooms", ""], "ignore.rooms", ""],
  ];
  for (const [args, key, value] of good) {
    it(`${JSON.stringify(args)} → ${key} = ${JSON.stringify(value)}`, () => {
      assert.deepEqual(parseSetArgs(args), { key, value });
    });
  }

  const bad: readonly (readonly [args: readonly string[], mentions: readonly string[]])[] = [
    [[], ["usage", "allow.users"]],
    [["silent"], ["usage"]],
    [["silense", "yes"], ["unknown option", "did you mean silent?"]],
    [["silent", "maybe"], ["silent", "yes, true, 1, y"]],
    [["msgtype", "m.emote"], ["msgtype", "m.notice or m.text"]],
    [["text.join", "someone", "joined"], ["text.join", "%s"]],
    [["autoclose.after", "soon"], ["autoclose.after", "7d"]],
  ];
  for (const [args, mentions] of bad) {
    it(`rejects ${JSON.stringify(args)}`, () => {
      assert.throws(() => parseSetArgs(args), isBadArgument(...mentions));
    });
  }
});

describe("config set: run", () => {
  it("stores the normalised value and prints it", async () => {
    const ctx = new FakeCliContext();
    const out = await configSet.run(input("allow.users", "@*:Example.com,", "@bob:x"), ctx);
    assert.deepEqual(lines(out), ["allow.users = @*:example.com,@bob:x"]);
    assert.equal(out.kind, "lines");
    assert.deepEqual(out.json, { key: "allow.users", value: "@*:example.com,@bob:x" });
    assert.equal((await ctx.memory.options.all()).get("allow.users"), "@*:example.com,@bob:x");
  });

  it("rejects a bad value without opening the store", async () => {
    const ctx = new FakeCliContext();
    await assert.rejects(configSet.run(input("silent", "perhaps"), ctx), isBadArgument("silent"));
    assert.equal(ctx.storeOpened, false);
  });
});

describe("config get: run", () => {
  it("lists every option with a default marker", async () => {
    const ctx = new FakeCliContext();
    await configSet.run(input("silent", "y"), ctx);
    const out = await configGet.run(input(), ctx);
    assert.equal(out.kind, "table");
    assert.deepEqual(out.columns, ["KEY", "VALUE", ""]);
    assert.deepEqual(
      out.rows.map((r) => r[0]),
      [...OPTION_KEYS],
    );
    assert.deepEqual(
      out.rows.find((r) => r[0] === "silent"),
      ["silent", "true", ""],
    );
    assert.deepEqual(
      out.rows.find((r) => r[0] === "msgtype"),
      ["msgtype", "m.notice", "(default)"],
    );
    const json = out.json as readonly Record<string, unknown>[];
    const silent = json.find((o) => o["key"] === "silent");
    assert.deepEqual(
      { ...silent, description: typeof silent?.["description"] },
      { key: "silent", value: "true", isDefault: false, default: "false", description: "string" },
    );
  });

  it("shows one option with its description", async () => {
    const ctx = new FakeCliContext();
    const out = await configGet.run(input("allow.users"), ctx);
    const shown = lines(out);
    assert.equal(shown[0], "allow.users: @*:* (default)");
    assert.match(shown[1] ?? "", /invite/);
    assert.match(shown[2] ?? "", /^accepted: /);
  });

  it("rejects an unknown key with a suggestion", async () => {
    const ctx = new FakeCliContext();
    await assert.rejects(configGet.run(input("text.greeting"), ctx), isBadArgument("did you mean text.greetings?"));
    assert.equal(ctx.storeOpened, false);
  });

  it("is declared with its arguments and --json", () => {
    assert.deepEqual(configGet.path, ["config", "get"]);
    assert.deepEqual(configSet.path, ["config", "set"]);
    assert.equal(configGet.json, true);
    assert.equal(configSet.args?.[1]?.variadic, true);
  });
});
