// `honoroit init` as a person runs it: the real binary and its real prompts in a terminal,
// answered key by key against the real Synapse, with a homeserver that does not answer (asked
// again with the reason) and a port out of range (refused under its question). What the person
// saw, in order, and the file written.
import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { assertInOrder, KEY, Terminal } from "../support/terminal.ts";
import { makeWorld, PASSWORD } from "./world.ts";

const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");


describe("honoroit init in a terminal", { timeout: 180_000 }, () => {
  it("asks, checks each answer, asks again with the reason, then writes the file and says what to run", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const file = path.join(w.dir, "etc", "honoroit.config.json");
    const login = w.env["HONOROIT_LOGIN"] ?? "";
    const term = Terminal.start(["--config", file, "init"], {}, w.dir);
    t.after(() => term.kill());

    await term.answer("Homeserver (a URL, or your Matrix domain)", `http://127.0.0.1:1${KEY.enter}`);
    // Asked again, below the reason.
    await term.answer("Homeserver (a URL, or your Matrix domain)", `${w.hs.url}${KEY.enter}`);
    await term.answer("How does the bot log in?", KEY.enter); // the default: a password
    await term.answer("Bot's login", `${login}${KEY.enter}`);
    await term.answer("Bot's password", `${PASSWORD}${KEY.enter}`);
    await term.answer("Operators room", `${KEY.down}${KEY.enter}`); // the second choice: a room the bot is invited to
    await term.answer("Operators room ID or alias", `${w.opsRoom}${KEY.enter}`);
    await term.answer("Database", KEY.enter); // SQLite
    await term.answer("SQLite file", KEY.enter); // its default, honoroit.db
    await term.answer("Sync requests with Redmine", KEY.enter); // no, the default
    await term.answer("HTTP port for /_health and /metrics", `99999${KEY.enter}`);
    const refusal = await term.waitForLine(/^> /, "the port refused under its question");
    assert.match(refusal, /^> .*out of range/);
    term.type(`${KEY.backspace.repeat(5)}8089${KEY.enter}`);
    await term.answer("Protect /metrics with a login and password?", KEY.enter); // no
    const code = await term.exit();
    const screen = term.screen;
    assert.equal(code, 0, screen.join("\n"));

    assertInOrder(screen, [
      /^✔ Homeserver \(a URL, or your Matrix domain\) http:\/\/127\.0\.0\.1:1$/,
      /^✗ nothing answers at http:\/\/127\.0\.0\.1:1 /,
      new RegExp(`^✔ Homeserver \\(a URL, or your Matrix domain\\) ${literally(w.hs.url)}$`),
      new RegExp(`^✓ homeserver ${literally(w.hs.url)} answers, Matrix v\\d`),
      /^✔ How does the bot log in\? password/,
      new RegExp(`^✔ Bot's login .* ${literally(login)}$`),
      /^✔ Bot's password \*+$/,
      new RegExp(`^✓ logged in as ${literally(w.bot)} \\(device \\w+\\)$`),
      /^✔ Operators room use a room the bot is in or invited to/,
      new RegExp(`^✓ the bot is in the operators room ${literally(w.opsRoom)}$`),
      /^✔ Database SQLite/,
      /^✔ SQLite file honoroit\.db$/,
      /^✓ database ready \(.*honoroit\.db\), the bot's session kept in it$/,
      /^✔ Sync requests with Redmine \(an issue for each request\)\? No$/,
      /^✔ HTTP port for \/_health and \/metrics .* 8089$/,
      /^✔ Protect \/metrics with a login and password\? No$/,
      /^✓ encryption keys made for the bot's device, cross-signed by its account, with a key backup on the homeserver$/,
      new RegExp(`^✓ wrote ${literally(file)} \\(mode 0600\\)$`),
      /^To run it under systemd, save this as \/etc\/systemd\/system\/honoroit\.service/,
      new RegExp(`^ExecStart=.*bin/honoroit --config ${literally(file)} serve$`),
      /^The recovery key of the bot's key backup:$/,
      /^E[A-Za-z0-9]{3}( [A-Za-z0-9]{4}){11}$/,
      new RegExp(`^next: honoroit --config ${literally(file)} serve$`),
    ]);
    for (const check of ["✓ homeserver", "✓ logged in as", "✓ the bot is in the operators room", "✓ database ready"]) {
      assert.equal(screen.filter((line) => line.startsWith(check)).length, 1, `"${check}" is shown once:\n${screen.join("\n")}`);
    }
    assert.equal(screen.filter((line) => line.startsWith("? ")).length, 0, "no question is left unanswered on the screen");
    assert.ok(!term.output.includes(PASSWORD), "the password typed is never shown");

    assert.equal((await stat(file)).mode & 0o777, 0o600, "the file holds secrets");
    const written = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    assert.equal(written["homeserver"], w.hs.url, "the homeserver that answered, not the dead one");
    assert.equal(written["login"], login);
    assert.equal(written["password"], PASSWORD);
    assert.equal(written["roomId"], w.opsRoom);
    assert.deepEqual(written["db"], { dialect: "sqlite", dsn: "honoroit.db" });
    assert.equal(written["port"], 8089, "the port typed after the refusal");
    assert.equal(written["metrics"], undefined);
    assert.equal(written["redmine"], undefined, "no Redmine unless asked for");
    assert.equal(typeof written["dataSecret"], "string");
  });
});
