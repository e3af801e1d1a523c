// `honoroit tickets list` run as a process: the listing is read from the database while it is
// printed, and prints exactly what the whole listing held in memory would.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it, type TestContext } from "node:test";
import { ticketJson } from "../../src/cli/commands/tickets-list.ts";
import { renderTable } from "../../src/cli/output.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import type { Dialect } from "../../src/adapters/storage/sql.ts";
import { parseRoomId, parseUserId } from "../../src/core/ids.ts";
import type { Ticket } from "../../src/core/ticket.ts";
import { freshDatabase } from "../support/postgres.ts";
import { BIN, childEnv, runCli } from "../support/serve-process.ts";

const TITLES = ["[OPEN] 1st request from example.com", 'a "quoted" title, with \\ and\ttab', "ünïcödé ✓ and 😀", "line\nbreak", ""];

/** More tickets than one PostgreSQL cursor page and than a streamed table holds; every third closed. */
async function seed(dialect: Dialect, dsn: string, count: number): Promise<Ticket[]> {
  const store = await openStore({ dialect, dsn });
  try {
    await store.migrate();
    await store.transaction(async (tx) => {
      for (let i = 0; i < count; i++) {
        const opened = await tx.tickets.open({
          customer: parseUserId(`@customer${i % 17}:hs${i % 3}.example.org`),
          customerRoom: parseRoomId(`!room${i}:example.org`),
          openedAt: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
        });
        const title = TITLES[i % TITLES.length] ?? "";
        if (title !== "") await tx.tickets.setTitle(opened.ticket.id, title);
        if (i % 3 === 0) await tx.tickets.close(opened.ticket.id, new Date(Date.UTC(2024, 6, 1)), "operator");
      }
    });
    return await store.tickets.list({ status: "all" });
  } finally {
    await store.close();
  }
}

function table(tickets: readonly Ticket[]): string {
  const at = (d: Date): string => d.toISOString().slice(0, 16).replace("T", " ");
  const rows = tickets.map((t) => [`#${t.id}`, t.status, t.customer, at(t.openedAt), at(t.lastActivityAt), t.title ?? ""]);
  return renderTable(["ID", "STATUS", "CUSTOMER", "OPENED", "LAST ACTIVITY", "TITLE"], rows, false);
}

async function checkListing(t: TestContext, dialect: Dialect, dsn: string): Promise<void> {
  const all = await seed(dialect, dsn, 1234);
  const env = { HONOROIT_DB_DIALECT: dialect === "postgres" ? "postgres" : "sqlite", HONOROIT_DB_DSN: dsn };

  const json = await runCli(["tickets", "list", "--status", "all", "--limit", "0", "--json"], env);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.stdout, JSON.stringify(all.map(ticketJson), null, 2) + "\n", "the JSON of the whole listing, byte for byte");

  const whole = await runCli(["tickets", "list", "--status", "all", "--limit", "0"], env);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(whole.stdout, table(all), "the whole table, its columns as wide as their widest cell");

  const open = all.filter((x) => x.status === "open");
  const page = await runCli(["tickets", "list", "--limit", "5"], env);
  assert.equal(page.stdout, table(open.slice(0, 5)) + `showing 5 of ${open.length}; use --limit 0 for all\n`);

  const none = await runCli(["tickets", "list", "--customer", "@nobody:example.org", "--json"], env);
  assert.equal(none.stdout, "[]\n");
  const noneTable = await runCli(["tickets", "list", "--customer", "@nobody:example.org"], env);
  assert.equal(noneTable.stdout, "no tickets match\n");
  t.diagnostic(`${all.length} tickets listed on ${dialect}`);
}

describe("tickets list", () => {
  it("on SQLite: JSON and tables as the whole listing would print, read while printed", async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-list-"));
    await checkListing(t, "sqlite", path.join(dir, "honoroit.db"));
  });

  it("on PostgreSQL: the same, through a cursor", async (t) => {
    const dsn = await freshDatabase(t, "honoroit_list");
    if (dsn === undefined) return;
    await checkListing(t, "postgres", dsn);
  });

  it("a reader that stops early (head) ends the listing without an error", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-list-"));
    const dsn = path.join(dir, "honoroit.db");
    await seed("sqlite", dsn, 3000);
    const result = await new Promise<{ code: number | null; stderr: string; head: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, "tickets", "list", "--status", "all", "--limit", "0", "--json"], { env: childEnv({ HONOROIT_DB_DSN: dsn }), stdio: ["ignore", "pipe", "pipe"] });
      let head = "";
      let stderr = "";
      child.stdout.once("data", (d: Buffer) => {
        head = d.toString().slice(0, 20);
        child.stdout.destroy();
      });
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stderr, head }));
    });
    assert.equal(result.head.startsWith("[\n  {\n"), true, JSON.stringify(result.head));
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
  });
});
