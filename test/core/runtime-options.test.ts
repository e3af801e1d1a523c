import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HonoroitError } from "../../src/core/errors.ts";
import { OPTION_KEYS } from "../../src/core/options.ts";
import type { Logger } from "../../src/core/ports.ts";
import { RuntimeOptions, showOptions } from "../../src/core/runtime-options.ts";
import type { Store } from "../../src/core/ports.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";

class RecordingLogger implements Logger {
  readonly warnings: { message: string; fields: Record<string, unknown> }[] = [];
  debug(): void {
    // not needed here
  }
  info(): void {
    // not needed here
  }
  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.warnings.push({ message, fields });
  }
  error(): void {
    // not needed here
  }
}

async function setup(stored: Record<string, string> = {}): Promise<{ store: Store; logger: RecordingLogger; options: RuntimeOptions }> {
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  for (const [k, v] of Object.entries(stored)) await store.options.set(k, v);
  const logger = new RecordingLogger();
  const options = await RuntimeOptions.load(store.options, logger);
  return { store, logger, options };
}

describe("RuntimeOptions", () => {
  it("serves defaults when nothing is stored", async () => {
    const { options, logger } = await setup();
    assert.deepEqual(options.get("allow.users"), ["@*:*"]);
    assert.deepEqual(options.get("ignore.rooms"), []);
    assert.equal(options.get("silent"), false);
    assert.equal(options.get("msgtype"), "m.notice");
    assert.equal(options.get("autoclose.after"), 7 * 86_400_000);
    assert.equal(options.get("text.prefix.open"), "[OPEN]");
    assert.equal(logger.warnings.length, 0);
  });

  it("reads stored values once, at load", async () => {
    const { store, options } = await setup({ silent: "true", "text.greetings": "Hi!" });
    assert.equal(options.get("silent"), true);
    assert.equal(options.get("text.greetings"), "Hi!");
    await store.options.set("silent", "false");
    assert.equal(options.get("silent"), true, "served from memory until the next load");
    await options.load();
    assert.equal(options.get("silent"), false);
  });

  it("falls back to the default, with a warning, for a stored value that no longer parses", async () => {
    const { options, logger } = await setup({ msgtype: "m.emote", "text.join": "someone joined", "no.such.key": "x", silent: "yes" });
    assert.equal(options.get("msgtype"), "m.notice");
    assert.equal(options.get("text.join"), "%s has joined the customer's room.");
    assert.equal(options.get("silent"), true);
    const keys = logger.warnings.map((w) => w.fields["key"]).sort();
    assert.deepEqual(keys, ["msgtype", "no.such.key", "text.join"]);
    const bad = logger.warnings.find((w) => w.fields["key"] === "msgtype");
    assert.ok(bad);
    assert.equal(bad.fields["stored"], "m.emote");
    assert.match(String(bad.fields["problem"]), /accepted: m\.notice or m\.text/);
  });

  it("refuses to serve values before load", async () => {
    const options = new RuntimeOptions((await setup()).store.options, new RecordingLogger());
    assert.throws(() => options.get("allow.users"), /before load/);
  });

  it("sets: validates, stores the normalised string and applies it at once", async () => {
    const { store, options } = await setup();
    const change = await options.set("Allow.Users", " @*:Example.com , @bob:other.org ");
    assert.deepEqual(change, { key: "allow.users", stored: "@*:example.com,@bob:other.org" });
    assert.deepEqual(options.get("allow.users"), ["@*:example.com", "@bob:other.org"]);
    assert.equal((await store.options.all()).get("allow.users"), "@*:example.com,@bob:other.org");

    assert.deepEqual(await options.set("silent", "Y"), { key: "silent", stored: "true" });
    assert.deepEqual(await options.set("autoclose.after", "48h"), { key: "autoclose.after", stored: "2d" });
    assert.equal(options.get("autoclose.after"), 2 * 86_400_000);
  });

  it("sets: a bad value changes nothing, in memory or in the store", async () => {
    const { store, options } = await setup({ silent: "true" });
    await assert.rejects(options.set("silent", "perhaps"), (e: unknown) => e instanceof HonoroitError && e.code === "BAD_ARGUMENT" && /silent/.test(e.message));
    await assert.rejects(options.set("silence", "yes"), /did you mean silent\?/);
    assert.equal(options.get("silent"), true);
    assert.equal((await store.options.all()).get("silent"), "true");
    assert.equal((await store.options.all()).has("silence"), false);
  });

  it("resets to the default and forgets the stored value", async () => {
    const { store, options } = await setup({ "text.prefix.open": "[NEW]" });
    assert.equal(options.get("text.prefix.open"), "[NEW]");
    assert.deepEqual(await options.reset("text.prefix.open"), { key: "text.prefix.open", stored: "[OPEN]" });
    assert.equal(options.get("text.prefix.open"), "[OPEN]");
    assert.equal((await store.options.all()).has("text.prefix.open"), false);
    await assert.rejects(options.reset("nope"), /unknown option/);
  });

  it("lists every option in table order, marking defaults", async () => {
    const { options } = await setup({ silent: "true", msgtype: "m.notice" });
    const list = options.list();
    assert.deepEqual(
      list.map((o) => o.key),
      [...OPTION_KEYS],
    );
    const silent = list.find((o) => o.key === "silent");
    assert.deepEqual(
      { value: silent?.value, isDefault: silent?.isDefault, default: silent?.default },
      { value: "true", isDefault: false, default: "false" },
    );
    assert.equal(list.find((o) => o.key === "msgtype")?.isDefault, true, "a stored value equal to the default counts as default");
    for (const o of list) assert.ok(o.description !== "");
  });
});

describe("showOptions", () => {
  it("shows every option on one line each", async () => {
    const { options } = await setup({ "text.greetings": "Hi!\nWelcome.", "ignore.rooms": "!a:x" });
    const lines = showOptions(options);
    assert.equal(lines.length, OPTION_KEYS.length);
    assert.ok(lines.includes("allow.users: @*:* (default)"));
    assert.ok(lines.includes("ignore.rooms: !a:x"));
    assert.ok(lines.includes("text.greetings: Hi!\\nWelcome."));
  });

  it("shows one option with its description, accepted values and default", async () => {
    const { options } = await setup({ silent: "1" });
    assert.deepEqual(showOptions(options, "silent"), [
      "silent: true",
      "Send no automatic messages to customers (greetings, closing messages).",
      "accepted: yes, true, 1, y or no, false, 0, n",
      "default: false",
    ]);
    const rooms = showOptions(options, "ignore.rooms");
    assert.equal(rooms[0], "ignore.rooms: (none) (default)");
    assert.equal(rooms.length, 3);
  });

  it("rejects an unknown key with a suggestion", async () => {
    const { options } = await setup();
    assert.throws(() => showOptions(options, "msgtyp"), /did you mean msgtype\?/);
  });
});
