import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Harness } from "./support.ts";

/** Runtime options and key-value areas. */
export function settingsContract(h: Harness): void {
  describe("options and key-value areas", () => {
    test("options are set, overwritten and deleted", async () => {
      const store = await h.fresh();
      const { options } = store;
      assert.equal((await options.all()).size, 0);
      await options.set("allow.users", "@*:a.example");
      await options.set("text.greetings", "Hello!\nWe will answer soon.");
      await options.set("allow.users", "@*:b.example");
      assert.deepEqual(
        new Map(await options.all()),
        new Map([
          ["allow.users", "@*:b.example"],
          ["text.greetings", "Hello!\nWe will answer soon."],
        ]),
      );
      await options.delete("allow.users");
      await options.delete("never.set");
      assert.deepEqual(new Map(await options.all()), new Map([["text.greetings", "Hello!\nWe will answer soon."]]));
      await options.set("silent", "");
      assert.equal((await options.all()).get("silent"), "", "an empty value is a value");
    });

    test("namespaces keep keys apart", async () => {
      const store = await h.fresh();
      const { kv } = store;
      await kv.set("crypto", "device", "ABCDEF");
      await kv.set("import", "device", "other");
      await kv.set("crypto", "olm", '{"k":1}');
      assert.equal(await kv.get("crypto", "device"), "ABCDEF");
      assert.equal(await kv.get("import", "device"), "other");
      assert.equal(await kv.get("crypto", "missing"), undefined);
      assert.equal(await kv.get("nothing", "device"), undefined);

      await kv.set("crypto", "device", "GHIJKL");
      assert.deepEqual(
        new Map(await kv.list("crypto")),
        new Map([
          ["device", "GHIJKL"],
          ["olm", '{"k":1}'],
        ]),
      );
      await kv.delete("crypto", "device");
      await kv.delete("crypto", "never");
      assert.deepEqual(new Map(await kv.list("crypto")), new Map([["olm", '{"k":1}']]));
      assert.deepEqual(new Map(await kv.list("import")), new Map([["device", "other"]]));
      assert.equal((await kv.list("empty")).size, 0);
    });
  });
}
