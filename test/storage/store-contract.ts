import { afterEach, describe } from "node:test";
import type { SqlDatabase } from "../../src/adapters/storage/sql.ts";
import { SqlStore } from "../../src/adapters/storage/sql-store.ts";
import { cryptoContract } from "./contract/crypto.ts";
import { eventContract } from "./contract/events.ts";
import { importContract } from "./contract/imports.ts";
import { jobContract } from "./contract/jobs.ts";
import { migrationContract } from "./contract/migrations.ts";
import { settingsContract } from "./contract/settings.ts";
import { STORE_CLOCK } from "./contract/support.ts";
import type { Harness, StoreTarget } from "./contract/support.ts";
import { ticketContract } from "./contract/tickets.ts";
import { transactionContract } from "./contract/transactions.ts";

export type { StoreTarget } from "./contract/support.ts";

/** The behaviour every `Store` must have, run against each database. */
export function storeContract(name: string, target: StoreTarget): void {
  describe(`${name} store contract`, () => {
    const opened: { close(): Promise<void> }[] = [];
    afterEach(async () => {
      for (const thing of opened.splice(0).reverse()) await thing.close();
    });

    const harness: Harness = {
      dialect: target.dialect,
      async database(): Promise<SqlDatabase> {
        const db = await target.database();
        opened.push(db);
        return db;
      },
      storeOn(db: SqlDatabase): SqlStore {
        // Closing the store closes its database, which `opened` already holds: close is idempotent.
        return new SqlStore(db, { clock: STORE_CLOCK });
      },
      async unmigrated(): Promise<SqlStore> {
        return harness.storeOn(await harness.database());
      },
      async fresh(): Promise<SqlStore> {
        const store = await harness.unmigrated();
        await store.migrate();
        return store;
      },
    };

    migrationContract(harness);
    ticketContract(harness);
    eventContract(harness);
    settingsContract(harness);
    jobContract(harness);
    transactionContract(harness);
    importContract(harness);
    cryptoContract(harness);
  });
}
