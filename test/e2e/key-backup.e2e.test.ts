// What lets the bot's encryption keys outlive its database, end to end against Synapse: the
// real binary cross-signs its device and backs up its room keys; `honoroit crypto
// recovery-key` shows the key; a serve started on a new, empty database with that key restores
// the room keys into its new device, which the account's cross-signing keys (taken back from
// its secret storage) sign. A recovery key of another backup is refused, loudly.
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import type { MatrixEvent } from "matrix-js-sdk";
import { deviceIdsOf, encryptedDm, waitForShown } from "../support/crypto-client.ts";
import { encryptedWorld } from "../support/encrypted-world.ts";
import { runCli } from "../support/serve-process.ts";
import type { ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";

const body = (ev: MatrixEvent): string => String(ev.getContent().body);

async function waitForLog(serve: ServeProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  try {
    return await waitFor(() => serve.output.match(pattern) ?? undefined, { what, timeoutMs, intervalMs: 200 });
  } catch (error) {
    throw new Error(`${String(error)}; serve's log:\n${serve.output.split("\n").filter((l) => !l.includes("DEBUG")).join("\n")}`, { cause: error });
  }
}

describe("key backup and recovery against Synapse", { timeout: 300_000 }, () => {
  it("cross-signs the bot's device, backs up its room keys, shows the recovery key, and restores from it on a new database", async (t) => {
    const w = await encryptedWorld(t, "sqlite");
    if (w === undefined) return;
    let serve = await w.start();
    await waitForLog(serve, /key backup created/, "the key backup to be created");
    assert.match(serve.output, /cross-signing set up: the bot's account signs its device/);

    // The operator's client sees the bot's device signed by its owner.
    const operatorCrypto = w.operator.client.getCrypto();
    assert.ok(operatorCrypto !== undefined);
    await waitFor(async () => {
      const [device] = await deviceIdsOf(w.operator.client, w.bot);
      if (device === undefined) return undefined;
      return (await operatorCrypto.getDeviceVerificationStatus(w.bot, device))?.signedByOwner === true ? true : undefined;
    }, { what: "the bot's device to be cross-signed, as the operator's client sees it", timeoutMs: 30_000, intervalMs: 500 });

    // Encrypted traffic makes room keys to back up.
    await waitFor(() => (w.operator.client.getRoom(w.opsRoom)?.getMember(w.bot)?.membership === "join" ? true : undefined), { what: "the bot to join the operators room", timeoutMs: 30_000 });
    const dm = await encryptedDm(w.customer, w.bot);
    await w.customer.client.sendTextMessage(dm, "msg 1: keys to keep");
    await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).startsWith("[OPEN]"), "the thread root");

    const shown = await runCli(["crypto", "recovery-key"], w.env);
    assert.equal(shown.code, 0, shown.stderr);
    const recoveryKey = shown.stdout.split("\n")[0] ?? "";
    assert.match(recoveryKey, /^(\w{4} ){11}\w{4}$/, "48 characters in groups of four");
    assert.match(shown.stdout, /HONOROIT_RECOVERY_KEY/);
    const json = await runCli(["crypto", "recovery-key", "--json"], w.env);
    assert.deepEqual(JSON.parse(json.stdout), { recoveryKey });
    assert.equal(await serve.stop("SIGTERM"), 0);

    // The database is lost: a new one, a new device; the recovery key brings the room keys back.
    const fresh = { ...w.env, HONOROIT_DB_DSN: path.join(path.dirname(w.env["HONOROIT_DB_DSN"] ?? ""), "new.db") };
    const none = await runCli(["crypto", "recovery-key"], { ...fresh, HONOROIT_DB_DSN: path.join(path.dirname(w.env["HONOROIT_DB_DSN"] ?? ""), "empty.db") });
    assert.notEqual(none.code, 0);
    serve = await w.start({ ...fresh, HONOROIT_RECOVERY_KEY: recoveryKey });
    const restored = await waitForLog(serve, /key backup restored with the recovery key .*imported=(\d+)/, "the backup to be restored");
    assert.ok(Number(restored[1]) >= 1, `room keys imported: ${restored[0]}`);
    await waitForLog(serve, /cross-signing restored from the account's secret storage/, "the account's cross-signing keys to be taken back");
    // A new device (the old one was never logged out), as the customer's client learns of it.
    await waitFor(async () => ((await deviceIdsOf(w.customer.client, w.bot)).length === 2 ? true : undefined), { what: "the customer's client to see the bot's new device", timeoutMs: 30_000, intervalMs: 300 });
    // Signed by the same account identity as the first device: people's clients see no change of identity.
    const [first] = await deviceIdsOf(w.operator.client, w.bot);
    await waitFor(async () => {
      const devices = await deviceIdsOf(w.operator.client, w.bot);
      const added = devices.find((d) => d !== first);
      if (added === undefined) return undefined;
      return (await operatorCrypto.getDeviceVerificationStatus(w.bot, added))?.signedByOwner === true ? true : undefined;
    }, { what: "the bot's new device to be cross-signed, as the operator's client sees it", timeoutMs: 30_000, intervalMs: 500 });
    const again = await runCli(["crypto", "recovery-key"], fresh);
    assert.equal(again.stdout.split("\n")[0], recoveryKey, "the new device backs up to the same backup");
    assert.equal(await serve.stop("SIGTERM"), 0);

    // A key of another backup is said loudly; serve goes on relaying (a mistyped key is refused
    // before serve starts: the configuration tests).
    const wrong = { ...w.env, HONOROIT_DB_DSN: path.join(path.dirname(w.env["HONOROIT_DB_DSN"] ?? ""), "third.db"), HONOROIT_RECOVERY_KEY: "EsSz ykH7 LCZx 7Cae cmKD wcmY JRXi Ybtu 8iQ3 t8Ez nRwK pUY1" };
    serve = await w.start(wrong);
    await waitForLog(serve, /HONOROIT_RECOVERY_KEY does not open the account's key backup/, "the wrong recovery key to be refused");
    // The customer's client must know the bot's third device before it encrypts for it.
    await waitFor(async () => ((await deviceIdsOf(w.customer.client, w.bot)).length === 3 ? true : undefined), { what: "the customer's client to see the bot's third device", timeoutMs: 30_000, intervalMs: 300 });
    await w.customer.client.sendTextMessage(dm, "msg 2: still relayed");
    await waitForShown(w.operator.client, w.opsRoom, (e) => e.getSender() === w.bot && body(e).endsWith("msg 2: still relayed"), "the next message relayed");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });
});
