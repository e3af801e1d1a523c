import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { MIGRATIONS, SCHEMA_MIGRATIONS_DDL } from "../../src/adapters/storage/migrations.ts";

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

// Databases in the field have these applied: a change to their text would leave those
// databases different from new ones. Change the schema with a new migration instead.
const APPLIED_IN_THE_FIELD = [
  { version: 1, sqlite: "7a129069a9f49febe45bb5ee03ca15b53e7f5a8f4ff79f18069e8e54c6fb828f", postgres: "d89ef40442d371b0daddccb31bc5701af04f23c4f041fa5ce833f9b660ee8cd8" },
  { version: 2, sqlite: "09e30a87936f4ba857817bb39bef0494fbff82a7f3e57418f868fcf149f5ba50", postgres: "bfc24d66441f0846daf79661c5f9641ca27d2393dc8ade72cbf6dac63759d9f7" },
] as const;

describe("migrations", () => {
  for (const pinned of APPLIED_IN_THE_FIELD) {
    test(`migration ${pinned.version} is exactly as it was applied`, () => {
      const migration = MIGRATIONS.find((m) => m.version === pinned.version);
      assert.ok(migration !== undefined);
      assert.equal(sha256(migration.sql.sqlite), pinned.sqlite, "SQLite");
      assert.equal(sha256(migration.sql.postgres), pinned.postgres, "PostgreSQL");
    });
  }

  test("the bookkeeping table is as it was", () => {
    assert.equal(sha256(SCHEMA_MIGRATIONS_DDL), "25168d971a4ab0852e3f4681a1aac544fe99b57beb97298dc3c5ba293597d4b6");
  });

  test("versions count up from 1 with no gap, and each has a name", () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      MIGRATIONS.map((_, i) => i + 1),
    );
    for (const m of MIGRATIONS) assert.ok(m.name.trim() !== "", `migration ${m.version} has a name`);
  });
});
