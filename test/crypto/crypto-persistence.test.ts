import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { TestContext } from "node:test";
import { DeviceId, initAsync, KeysUploadRequest, OlmMachine, RequestType, UserId } from "@matrix-org/matrix-sdk-crypto-wasm";
import { CryptoPersistence } from "../../src/adapters/crypto/crypto-persistence.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import type { Store } from "../../src/core/ports.ts";
import { freshDatabase } from "../support/postgres.ts";
import { MemoryLogger } from "../support/helpdesk-fixture.ts";

const SILENT = new MemoryLogger();

const dir = mkdtempSync(join(tmpdir(), "honoroit-crypto-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const BOT = "@bot:crypto.example";
const DEVICE = "BOTDEVICE";

async function machineOn(store: Store, secret: string | undefined, compactChars?: number): Promise<{ machine: OlmMachine; persistence: CryptoPersistence; restored: boolean }> {
  await initAsync();
  const persistence = new CryptoPersistence({ store: store.crypto, secret, logger: SILENT, ...(compactChars === undefined ? {} : { compactChars }) });
  const restored = await persistence.restore();
  persistence.recorder.installGlobals();
  const machine = await OlmMachine.initialize(new UserId(BOT), new DeviceId(DEVICE), "honoroit");
  return { machine, persistence, restored };
}

/** The device's first keys upload, answered as the homeserver would; returns the identity key. */
async function uploadKeys(machine: OlmMachine): Promise<void> {
  const upload = (await machine.outgoingRequests()).find((r) => r instanceof KeysUploadRequest);
  assert.ok(upload !== undefined, "a new device uploads its keys");
  const count = Object.keys((JSON.parse(upload.body) as { one_time_keys?: object }).one_time_keys ?? {}).length;
  await machine.markRequestAsSent(upload.id, upload.type, JSON.stringify({ one_time_key_counts: { signed_curve25519: count } }));
}

async function pendingUploads(machine: OlmMachine): Promise<number> {
  return (await machine.outgoingRequests()).filter((r) => r.type === RequestType.KeysUpload).length;
}

function persistenceSuite(name: string, open: (t: TestContext) => Promise<Store | undefined>): void {
  describe(`the crypto state on ${name}`, () => {
    test("a restart restores the same device: same identity key, its uploaded keys known as uploaded", async (t) => {
      const store = await open(t);
      if (store === undefined) return;
      const first = await machineOn(store, "a secret");
      assert.equal(first.restored, false);
      const identity = first.machine.identityKeys.curve25519.toBase64();
      await uploadKeys(first.machine);
      await first.persistence.save();
      first.machine.close();

      const second = await machineOn(store, "a secret");
      assert.equal(second.restored, true);
      assert.equal(second.machine.identityKeys.curve25519.toBase64(), identity);
      assert.equal(await pendingUploads(second.machine), 0, "nothing left to upload: the upload was saved as done");
      second.machine.close();
    });

    test("what was not saved is not restored (a crash before the save)", async (t) => {
      const store = await open(t);
      if (store === undefined) return;
      const first = await machineOn(store, "a secret");
      const identity = first.machine.identityKeys.curve25519.toBase64();
      await first.persistence.save();
      await uploadKeys(first.machine);
      first.machine.close();

      const second = await machineOn(store, "a secret");
      assert.equal(second.machine.identityKeys.curve25519.toBase64(), identity);
      assert.equal(await pendingUploads(second.machine), 1, "the upload is due again");
      second.machine.close();
    });

    test("compaction keeps the state and shrinks the journal to nothing", async (t) => {
      const store = await open(t);
      if (store === undefined) return;
      const first = await machineOn(store, "a secret", 1);
      const identity = first.machine.identityKeys.curve25519.toBase64();
      await uploadKeys(first.machine);
      await first.persistence.save();
      const saved = await store.crypto.saved();
      assert.equal(saved.journal.length, 0);
      assert.ok(saved.snapshot.length > 0);
      first.machine.close();

      const second = await machineOn(store, "a secret");
      assert.equal(second.machine.identityKeys.curve25519.toBase64(), identity);
      assert.equal(await pendingUploads(second.machine), 0);
      second.machine.close();
    });

    test("the state is sealed: another secret cannot open it, none at all is told to set it", async (t) => {
      const store = await open(t);
      if (store === undefined) return;
      const first = await machineOn(store, "a secret");
      await first.persistence.save();
      first.machine.close();
      const entries = (await store.crypto.saved()).journal;
      assert.ok(entries.length > 0);
      assert.ok(entries.every((e) => !e.entry.includes(BOT) && !Buffer.from(e.entry.slice(3), "base64").toString("latin1").includes(BOT)), "no plain text at rest");
      await assert.rejects(new CryptoPersistence({ store: store.crypto, secret: "another", logger: SILENT }).restore(), /cannot be opened with this data secret/);
      await assert.rejects(new CryptoPersistence({ store: store.crypto, secret: undefined, logger: SILENT }).restore(), /is sealed: set the data secret/);
    });
  });
}

persistenceSuite("SQLite", async (t) => {
  const store = await openStore({ dialect: "sqlite", dsn: join(dir, `crypto-${++files}.db`) });
  t.after(() => store.close());
  await store.migrate();
  return store;
});

persistenceSuite("PostgreSQL", async (t) => {
  const dsn = await freshDatabase(t, "honoroit_crypto");
  if (dsn === undefined) return undefined;
  const store = await openStore({ dialect: "postgres", dsn });
  t.after(() => store.close());
  await store.migrate();
  return store;
});
