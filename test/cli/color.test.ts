// Colour as a person at a terminal sees it: the real binary in a pseudo-terminal (util-linux
// `script`), and in a pipe with FORCE_COLOR. NO_COLOR turns every colour off in a terminal.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, describe, it } from "node:test";
import type { RoomId, UserId } from "../../src/core/ids.ts";
import { BIN, childEnv, runCli } from "../support/serve-process.ts";

const ESC = "\u001b[";
const BOLD_HEADER = `${ESC}1mID`;
const RED_ERROR = `${ESC}31merror:${ESC}39m`;

const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

/** Runs `honoroit ARGS` with a terminal as its stdout and stderr; returns what the terminal showed. */
function inTerminal(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: childEnv({ TERM: "xterm", ...env }), stdio: ["ignore", "pipe", "pipe"] });
    let screen = "";
    child.stdout.on("data", (d: Buffer) => (screen += d.toString()));
    child.stderr.on("data", (d: Buffer) => (screen += d.toString()));
    child.once("error", (e) => reject(new Error(`util-linux script is needed to give the binary a terminal: ${e.message}`)));
    child.once("close", (code) => resolve({ code, screen: screen.replaceAll("\r\n", "\n") }));
  });
}

describe("colour in the terminal", () => {
  let db = "";
  let missing = "";
  before(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-color-"));
    db = path.join(dir, "honoroit.db");
    missing = path.join(dir, "missing.db");
    const { openStore } = await import("../../src/adapters/storage/open-store.ts");
    const store = await openStore({ dialect: "sqlite", dsn: db });
    await store.migrate();
    await store.tickets.open({ customer: "@alice:example.com" as UserId, customerRoom: "!a:example.com" as RoomId, openedAt: new Date() });
    await store.close();
  });

  it("a terminal gets a bold table header and a red error label", async () => {
    const list = await inTerminal(["tickets", "list"], { HONOROIT_DB_DSN: db });
    assert.equal(list.code, 0, list.screen);
    assert.ok(list.screen.startsWith(BOLD_HEADER), JSON.stringify(list.screen));
    const options = await inTerminal(["config", "get"], { HONOROIT_DB_DSN: db });
    assert.ok(options.screen.startsWith(`${ESC}1mKEY`), JSON.stringify(options.screen));
    const error = await inTerminal(["tickets", "list"], { HONOROIT_DB_DSN: missing });
    assert.equal(error.code, 3);
    assert.ok(error.screen.startsWith(`${RED_ERROR} no database at`), JSON.stringify(error.screen));
  });

  for (const env of [{ NO_COLOR: "1" }, { NO_COLOR: "yes please" }, { TERM: "dumb" }]) {
    it(`${JSON.stringify(env)}: no colour at all, output or errors`, async () => {
      const list = await inTerminal(["tickets", "list"], { HONOROIT_DB_DSN: db, ...env });
      assert.equal(list.code, 0, list.screen);
      assert.match(list.screen, /^ID +STATUS +CUSTOMER/);
      const options = await inTerminal(["config", "get"], { HONOROIT_DB_DSN: db, ...env });
      assert.match(options.screen, /^KEY +VALUE/);
      const error = await inTerminal(["tickets", "list"], { HONOROIT_DB_DSN: missing, ...env });
      assert.equal(error.code, 3);
      assert.match(error.screen, /^error: no database at/);
      for (const screen of [list.screen, options.screen, error.screen]) assert.ok(!screen.includes(ESC), JSON.stringify(screen));
    });
  }

  it("an empty NO_COLOR counts as unset", async () => {
    const list = await inTerminal(["tickets", "list"], { HONOROIT_DB_DSN: db, NO_COLOR: "" });
    assert.ok(list.screen.startsWith(BOLD_HEADER), JSON.stringify(list.screen));
  });

  it("in a pipe: none, unless FORCE_COLOR asks for it (over NO_COLOR, as Node.js has it)", async () => {
    const plain = await runCli(["tickets", "list"], { HONOROIT_DB_DSN: db });
    assert.match(plain.stdout, /^ID +STATUS/);
    assert.ok(!plain.stdout.includes(ESC), JSON.stringify(plain.stdout));
    for (const env of [{ FORCE_COLOR: "1" }, { FORCE_COLOR: "1", NO_COLOR: "1" }]) {
      const forced = await runCli(["tickets", "list"], { HONOROIT_DB_DSN: db, ...env });
      assert.ok(forced.stdout.startsWith(BOLD_HEADER), JSON.stringify(forced.stdout));
      const forcedError = await runCli(["tickets", "list"], { HONOROIT_DB_DSN: missing, ...env });
      assert.match(forcedError.stderr, new RegExp(`^${RED_ERROR.replaceAll("[", "\\[")} no database at`, "m"));
    }
    const off = await runCli(["tickets", "list"], { HONOROIT_DB_DSN: db, FORCE_COLOR: "0" });
    assert.ok(!off.stdout.includes(ESC), JSON.stringify(off.stdout));
  });
});
