import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sendOnce } from "../../src/core/deps.ts";
import type { EventId, RoomId } from "../../src/core/ids.ts";
import { DEFAULT_RETENTION_MS, pruneOldRecords } from "../../src/core/usecases/retention.ts";
import { BOT, ManualClock, MemoryLogger } from "../support/helpdesk-fixture.ts";
import { FakeMessenger } from "../support/fake-messenger.ts";
import type { Store } from "../../src/core/ports.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";

const DAY = 86_400_000;
const ROOM = "!room:example.com" as RoomId;

async function setup(): Promise<{ store: Store; clock: ManualClock; logger: MemoryLogger; messenger: FakeMessenger }> {
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  return { store, clock: new ManualClock(), logger: new MemoryLogger(), messenger: new FakeMessenger(BOT) };
}

describe("retention", () => {
  it("keeps 30 days by default", () => {
    assert.equal(DEFAULT_RETENTION_MS, 30 * DAY);
  });

  it("forgets handled events and sent keys older than 30 days, keeps the rest, and counts", async () => {
    const { store, clock, logger } = await setup();
    const start = clock.now();
    await store.journal.markHandled("$old" as EventId, clock.now());
    await store.ledger.put("old", "$sent-old", clock.now());
    clock.advance(10 * DAY);
    await store.journal.markHandled("$recent" as EventId, clock.now());
    await store.ledger.put("recent", "$sent-recent", clock.now());

    clock.advance(20 * DAY);
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }), { handled: 0, sent: 0 }, "exactly 30 days old is kept");
    assert.equal(logger.lines.length, 0, "nothing to say when nothing was pruned");

    clock.advance(1);
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }), { handled: 1, sent: 1 });
    assert.equal(await store.journal.isHandled("$old" as EventId), false);
    assert.equal(await store.ledger.get("old"), undefined);
    assert.equal(await store.journal.isHandled("$recent" as EventId), true);
    assert.equal(await store.ledger.get("recent"), "$sent-recent");
    assert.deepEqual(logger.lines.map((l) => [l.level, l.message, l.fields?.["handled"], l.fields?.["sent"]]), [
      ["info", "pruned old records", 1, 1],
    ]);
    assert.equal(logger.lines[0]?.fields?.["before"], new Date(start.getTime() + 1).toISOString());

    assert.deepEqual(await pruneOldRecords({ store, clock, logger }), { handled: 0, sent: 0 }, "a second run finds nothing");
  });

  it("keeps every mark handled after the saved sync position, however old (a replay would ask for them)", async () => {
    const { store, clock, logger } = await setup();
    await store.journal.markHandled("$before-position" as EventId, clock.now());
    clock.advance(2 * DAY);
    await store.sync.setToken("s1", clock.now());
    clock.advance(DAY);
    await store.journal.markHandled("$after-position" as EventId, clock.now());
    // The bot then waits (its operators room gone, say) for longer than the retention.
    clock.advance(60 * DAY);
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }), { handled: 1, sent: 0 });
    assert.equal(await store.journal.isHandled("$before-position" as EventId), false, "handled more than a day before the position was saved");
    assert.equal(await store.journal.isHandled("$after-position" as EventId), true);
  });

  it("takes a custom retention", async () => {
    const { store, clock, logger } = await setup();
    await store.journal.markHandled("$a" as EventId, clock.now());
    clock.advance(2 * 3_600_000);
    await store.journal.markHandled("$b" as EventId, clock.now());
    await store.ledger.put("b", "$sent-b", clock.now());
    clock.advance(3_600_000);
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }, 2 * 3_600_000), { handled: 1, sent: 0 });
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }, 0), { handled: 1, sent: 1 });
  });

  it("sendOnce records in the send ledger at the clock's time, so retention can forget it", async () => {
    const { store, clock, logger, messenger } = await setup();
    const deps = { store, clock, messenger };
    const first = await sendOnce(deps, ROOM, { msgtype: "m.notice", body: "hi", mentions: [] }, "greet:1");
    assert.equal(await sendOnce(deps, ROOM, { msgtype: "m.notice", body: "hi again", mentions: [] }, "greet:1"), first);
    assert.equal(messenger.calls.length, 1, "sent once");
    assert.equal(await store.ledger.get("greet:1"), first);
    assert.equal(await store.kv.get("sent", "greet:1"), undefined, "not in the key-value area");

    clock.advance(30 * DAY + 1);
    assert.deepEqual(await pruneOldRecords({ store, clock, logger }), { handled: 0, sent: 1 });
    assert.equal(await store.ledger.get("greet:1"), undefined);
  });
});
