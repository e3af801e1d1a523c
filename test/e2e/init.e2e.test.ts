// `honoroit init` unattended, as a script or a provisioning tool runs it: every answer from a
// flag, checked against the real homeserver and database; a refusal writes nothing. Then serve
// starts from the file it wrote, on the device init logged in with, and relays.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { bodyOf, roomHistory } from "../support/room-history.ts";
import { freePort, runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { makeWorld, PASSWORD } from "./world.ts";

describe("honoroit init --yes", { timeout: 180_000 }, () => {
  it("refuses a dead homeserver, a wrong password and a room the bot is not invited to, writing nothing; then sets up a working bot", async (t) => {
    const w = await makeWorld(t);
    if (w === undefined) return;
    const file = path.join(w.dir, "etc", "honoroit.config.json");
    const unit = path.join(w.dir, "honoroit.service");
    const right = path.join(w.dir, "password");
    const wrong = path.join(w.dir, "wrong-password");
    await writeFile(right, `${PASSWORD}\n`);
    await writeFile(wrong, "not the password\n");
    const port = String(await freePort());
    const login = w.env["HONOROIT_LOGIN"] ?? "";
    const base = ["--config", file, "init", "--yes", "--login", login, "--port", port];

    const dead = await runCli([...base, "--homeserver", "http://127.0.0.1:1", "--password-file", right, "--room-id", w.opsRoom], {});
    assert.equal(dead.code, 4, dead.stderr);
    assert.match(dead.stderr, /nothing answers at http:\/\/127\.0\.0\.1:1/);
    const badPassword = await runCli([...base, "--homeserver", w.hs.url, "--password-file", wrong, "--room-id", w.opsRoom], {});
    assert.equal(badPassword.code, 2, badPassword.stderr);
    assert.match(badPassword.stderr, /login failed for honoroit/);
    const strangers = await w.operator.client.createRoom({ name: "Not for the bot" });
    const notInvited = await runCli([...base, "--homeserver", w.hs.url, "--password-file", right, "--room-id", strangers.room_id], {});
    assert.equal(notInvited.code, 2, notInvited.stderr);
    assert.match(notInvited.stderr, /cannot join .*: invite it there first/);
    const missing = await runCli(["--config", file, "init", "--yes", "--homeserver", w.hs.url], {});
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /--password-file, --token-file or --shared-secret-file is needed/);
    assert.equal(existsSync(file), false, "a refused init writes no file");

    const ok = await runCli([...base, "--homeserver", w.hs.url, "--password-file", right, "--room-id", w.opsRoom, "--systemd", unit], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /✓ logged in as @honoroit/);
    assert.match(ok.stdout, new RegExp(`✓ the bot is in the operators room ${w.opsRoom.replace(/[.$]/g, "\\$&")}`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const written = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    assert.equal(written["passwordFile"], right, "the password stays in its file");
    assert.equal(written["password"], undefined);
    const unitText = await readFile(unit, "utf8");
    assert.match(unitText, new RegExp(`^ExecStart=.*bin/honoroit --config ${file.replace(/[.]/g, "\\.")} serve$`, "m"));
    assert.match(unitText, /^NoNewPrivileges=true$/m);
    const docs = /^Documentation=(file:\S+)$/m.exec(unitText)?.[1];
    assert.ok(docs?.endsWith("/README.md") === true && existsSync(fileURLToPath(docs)), `the unit's documentation is this package's README:\n${unitText}`);

    // The encryption keys were made by init: the recovery key is shown once, and the command
    // shows the same; the homeserver holds the backup and the device's cross-signature.
    assert.match(ok.stdout, /✓ encryption keys made for the bot's device, cross-signed by its account, with a key backup on the homeserver/);
    const shown = /^The recovery key of the bot's key backup:\n(.+)$/m.exec(ok.stdout)?.[1];
    assert.match(shown ?? "", /^E[A-Za-z0-9]{3}( [A-Za-z0-9]{4}){11}$/, ok.stdout);
    assert.doesNotMatch(ok.stdout, /crypto recovery-key, and keep/, "no need to ask for the key later");
    const asked = await runCli(["--config", file, "crypto", "recovery-key", "--json"], {});
    assert.equal(asked.code, 0, asked.stderr);
    assert.deepEqual(JSON.parse(asked.stdout), { recoveryKey: shown });
    const device = /✓ logged in as \S+ \(device (\w+)\)/.exec(ok.stdout)?.[1] ?? "";
    const signatures = await deviceSignatures(w.hs.url, w.operator.client.getAccessToken() ?? "", w.bot, device);
    assert.ok(signatures.selfSigningKey !== undefined, "the bot's account has cross-signing keys");
    assert.ok(signatures.by.includes(`ed25519:${signatures.selfSigningKey}`), `the device is signed by the account's self-signing key: ${signatures.by.join(", ")}`);

    // serve with nothing but that file: the same device init logged in with, and it relays.
    const serve = w.track(await ServeProcess.start({}, { args: ["--config", file] }));
    assert.match(serve.output, /logged in to Matrix .*method=saved/);
    assert.match(serve.output, /end-to-end encryption state restored/);
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "hello after init");
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => e.sender === w.bot && bodyOf(e).endsWith("hello after init")) ? true : undefined), {
      what: "the customer's message in the operators room",
      timeoutMs: 30_000,
    });
    assert.equal(await serve.stop("SIGTERM"), 0);
    assert.doesNotMatch(serve.output, /key backup created|cross-signing set up/, "init made them; serve found them");

    // init again over the same database: a new device, whose session and data secret replace
    // the earlier ones; that device's keys are dropped, and the account's backup is not this
    // device's to use: said, with what to do. serve then starts on the new keys.
    const again = await runCli([...base, "--homeserver", w.hs.url, "--password-file", right, "--room-id", w.opsRoom, "--force"], {});
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /✓ dropped the encryption keys an earlier device left in the database/);
    assert.match(again.stdout, /^! encryption not fully set up \(serve tries again at each start\): .*key backup: the account has a key backup this device holds no key for: set HONOROIT_RECOVERY_KEY/m);
    assert.match(again.stdout, /crypto recovery-key, and keep/);
    const restarted = w.track(await ServeProcess.start({}, { args: ["--config", file] }));
    assert.match(restarted.output, /end-to-end encryption state restored/);
    assert.equal(await restarted.stop("SIGTERM"), 0);
  });
  it("on PostgreSQL: an unreachable DSN is refused, writing nothing; a working one is migrated and serve goes on with init's device", async (t) => {
    const w = await makeWorld(t, { database: "postgres" });
    if (w === undefined) return;
    const dsn = w.env["HONOROIT_DB_DSN"] ?? "";
    assert.match(dsn, /^postgres/);
    const file = path.join(w.dir, "pg", "honoroit.config.json");
    const right = path.join(w.dir, "password");
    await writeFile(right, `${PASSWORD}\n`);
    const base = ["--config", file, "init", "--yes", "--homeserver", w.hs.url, "--login", w.env["HONOROIT_LOGIN"] ?? "", "--password-file", right, "--room-id", w.opsRoom, "--port", String(await freePort()), "--db-dialect", "postgres"];

    const dead = await runCli([...base, "--db-dsn", "postgres://postgres@127.0.0.1:1/nothing"], {});
    assert.notEqual(dead.code, 0, dead.stderr);
    assert.match(dead.stderr, /127\.0\.0\.1:1/);
    assert.doesNotMatch(dead.stderr, /database ready/);
    assert.equal(existsSync(file), false, "a refused init writes no file");

    const ok = await runCli([...base, "--db-dsn", dsn], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /database ready \(PostgreSQL\)/);
    const written = JSON.parse(await readFile(file, "utf8")) as { db?: { dialect?: string } };
    assert.equal(written.db?.dialect, "postgres");
    const migrated = await runCli(["--config", file, "migrate", "--status", "--json"], {});
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.ok((JSON.parse(migrated.stdout) as { appliedAt: string | null }[]).every((m) => m.appliedAt !== null), "init ran every migration");

    const serve = w.track(await ServeProcess.start({}, { args: ["--config", file] }));
    assert.match(serve.output, /logged in to Matrix .*method=saved/);
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "hello after init on PostgreSQL");
    await waitFor(async () => ((await roomHistory(w.operator.client, w.opsRoom)).some((e) => e.sender === w.bot && bodyOf(e).endsWith("hello after init on PostgreSQL")) ? true : undefined), {
      what: "the customer's message in the operators room",
      timeoutMs: 30_000,
    });
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});

/** The self-signing key of `user`'s account, and who signed `device`'s keys, as anyone may query. */
async function deviceSignatures(homeserver: string, token: string, user: string, device: string): Promise<{ selfSigningKey: string | undefined; by: string[] }> {
  const answer = (await (await fetch(`${homeserver}/_matrix/client/v3/keys/query`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ device_keys: { [user]: [device] } }),
  })).json()) as {
    device_keys?: Record<string, Record<string, { signatures?: Record<string, Record<string, string>> }>>;
    self_signing_keys?: Record<string, { keys?: Record<string, string> }>;
  };
  const selfSigning = Object.values(answer.self_signing_keys?.[user]?.keys ?? {})[0];
  return { selfSigningKey: selfSigning, by: Object.keys(answer.device_keys?.[user]?.[device]?.signatures?.[user] ?? {}) };
}
