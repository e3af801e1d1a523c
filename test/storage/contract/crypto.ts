import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Harness } from "./support.ts";

/** The end-to-end encryption state: snapshot and journal. */
export function cryptoContract(h: Harness): void {
  describe("crypto state", () => {
    test("a fresh store has no snapshot and an empty journal", async () => {
      const store = await h.fresh();
      assert.deepEqual(await store.crypto.saved(), { snapshot: [], journal: [] });
      assert.deepEqual(await store.crypto.size(), { entries: 0, chars: 0 });
    });

    test("the journal keeps entries in order, with increasing ids", async () => {
      const store = await h.fresh();
      const first = await store.crypto.append(["a", "bb"]);
      const last = await store.crypto.append(["ccc"]);
      assert.ok(last > first);
      assert.equal(await store.crypto.append([]), 0, "appending nothing writes nothing");
      const { journal } = await store.crypto.saved();
      assert.deepEqual(journal.map((e) => e.entry), ["a", "bb", "ccc"]);
      assert.equal(journal[1]?.id, first, "append returns the id of its last entry");
      assert.deepEqual(await store.crypto.size(), { entries: 3, chars: 6 });
    });

    test("many entries at once all arrive", async () => {
      const store = await h.fresh();
      const entries = Array.from({ length: 120 }, (_, i) => `entry ${i}`);
      await store.crypto.append(entries);
      assert.deepEqual((await store.crypto.saved()).journal.map((e) => e.entry), entries);
    });

    test("compaction replaces the snapshot and drops only the entries it covers", async () => {
      const store = await h.fresh();
      const covered = await store.crypto.append(["a", "b"]);
      await store.crypto.compact(["old"], 0);
      await store.crypto.append(["c"]);
      await store.crypto.compact(["db1", "db2"], covered);
      const saved = await store.crypto.saved();
      assert.deepEqual(saved.snapshot, ["db1", "db2"], "the snapshot's parts in order");
      assert.deepEqual(saved.journal.map((e) => e.entry), ["c"]);
      const next = await store.crypto.append(["d"]);
      assert.ok(next > covered, "ids are not reused after compaction");
    });

    test("appends inside a store transaction roll back with it", async () => {
      const store = await h.fresh();
      await assert.rejects(store.transaction(async (tx) => {
        await tx.crypto.append(["lost"]);
        throw new Error("boom");
      }), /boom/);
      assert.deepEqual((await store.crypto.saved()).journal, []);
    });
  });
}
