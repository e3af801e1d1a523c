// 6. Switching from the Go bot: `honoroit migrate --from-go` over a Go deployment of 1,000
// requests (half open, half closed; sealed account data for each, thread roots, a customer's
// message in each thread, a closing edit for the closed ones), beside one initial /sync of the
// same bot account, measured in the same run.
import { readFileSync } from "node:fs";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { exemptFromRateLimit, registerUser, uniqueName } from "../test/support/synapse.ts";
import { BIN, childEnv } from "../test/support/serve-process.ts";
import { GoBot, goSealMap } from "../test/support/go-bot.ts";
import { createRoom } from "../test/support/matrix-http.ts";
import { mapLimit } from "./pool.ts";
import { timedRun } from "./proc.ts";
import { fmtMs, fmtRatio, type SectionResult } from "./report.ts";
import { median, ratio, round } from "./stats.ts";
import { PASSWORD, type BenchContext } from "./world.ts";

const SECRET = "bench-secret-of-32-bytes-exactly";

/** One initial /sync of the bot, unfiltered as a client's first sync is; a fresh filter defeats Synapse's response cache. */
async function initialSyncMs(hs: string, token: string): Promise<number> {
  const filter = encodeURIComponent(JSON.stringify({ room: { not_rooms: [`!bench-${randomUUID()}:invalid`] } }));
  const started = performance.now();
  const res = await fetch(`${hs}/_matrix/client/v3/sync?timeout=0&filter=${filter}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`/sync: ${res.status}`);
  return performance.now() - started;
}

export async function runGoImport(ctx: BenchContext): Promise<SectionResult> {
  const requests = ctx.quick ? 100 : 1000;
  const admin = await registerUser(ctx.hs, uniqueName("bench-admin"), PASSWORD, { admin: true });
  const botName = uniqueName("honoroit-go");
  const bot = await registerUser(ctx.hs, botName, PASSWORD);
  await exemptFromRateLimit(ctx.hs, admin.accessToken, bot.userId);
  const operator = await registerUser(ctx.hs, uniqueName("operator"), PASSWORD);
  const opsRoom = await createRoom(ctx.hs, operator, { invite: [bot.userId], name: "Support (Go)" });
  const go = await GoBot.login(ctx.hs, botName, PASSWORD);
  await go.join(opsRoom);
  const hsName = bot.userId.slice(bot.userId.indexOf(":") + 1);

  const t0 = performance.now();
  await mapLimit(Array.from({ length: requests }, (_, i) => i), 8, async (i) => {
    const customer = `@customer${i % 300}:${hsName}`;
    const open = i % 2 === 0;
    const title = `1st request from ${hsName} (1st by Customer ${i} (${customer}))`;
    const root = await go.root(opsRoom, `[OPEN] ${title}`, customer);
    await go.forward(opsRoom, root, customer, `Customer ${i}`, `$source${i}:${hsName}`, `question number ${i}`);
    if (!open) await go.editRoot(opsRoom, root, `[DONE]  ${title}`);
    const room = `!customer${i}:${hsName}`;
    await go.setAccountData(`cc.etke.honoroit.mapping.${root}`, open ? goSealMap(SECRET, { id: room }, "current") : {});
    await go.setAccountData(`cc.etke.honoroit.mapping.${room}`, open ? goSealMap(SECRET, { id: root }, "older") : {});
  });
  ctx.log(`go-import: seeded ${requests} Go requests in ${Math.round((performance.now() - t0) / 1000)} s`);

  const env = childEnv({
    HONOROIT_HOMESERVER: ctx.hs.url,
    HONOROIT_LOGIN: botName,
    HONOROIT_PASSWORD: PASSWORD,
    HONOROIT_ROOMID: opsRoom,
    HONOROIT_DB_DSN: path.join(ctx.dir, "go-import.db"),
    HONOROIT_DATA_SECRET: SECRET,
    HONOROIT_LOGLEVEL: "info",
  });
  const sync: number[] = [];
  for (let i = 0; i < 3; i++) sync.push(await initialSyncMs(ctx.hs.url, bot.accessToken));
  const out = path.join(ctx.dir, "go-import.json");
  const first = await timedRun(process.execPath, [BIN, "migrate", "--from-go", "--json"], env, out);
  if (first.code !== 0) throw new Error(`migrate --from-go exited ${String(first.code)}: ${first.stderr}`);
  for (const line of first.stderr.split("\n").filter((l) => /read the|wrote the/.test(l))) ctx.log(`go-import: ${line.replace(/^\S+ /, "")}`);
  const summary = JSON.parse(readFileSync(out, "utf8")) as { openTickets: { imported: number }; closedTickets: { imported: number } };
  const imported = summary.openTickets.imported + summary.closedTickets.imported;
  if (imported !== requests) throw new Error(`imported ${imported} of ${requests} requests: ${readFileSync(out, "utf8").slice(0, 2000)}`);
  const again = await timedRun(process.execPath, [BIN, "migrate", "--from-go", "--json"], env, out);
  if (again.code !== 0) throw new Error(`the second migrate --from-go exited ${String(again.code)}: ${again.stderr}`);
  for (let i = 0; i < 2; i++) sync.push(await initialSyncMs(ctx.hs.url, bot.accessToken));
  const syncMs = median(sync);
  const r = ratio(first.wallMs, syncMs);
  return {
    rows: [
      {
        metric: `migrate --from-go: ${requests.toLocaleString("en")} Go requests imported (whole CLI run, login included)`,
        value: fmtMs(first.wallMs),
        baseline: `${fmtMs(syncMs)} (one initial /sync of the bot, median of ${sync.length})`,
        ratio: fmtRatio(r),
        target: "—",
      },
      {
        metric: "migrate --from-go run again (nothing to change)",
        value: fmtMs(again.wallMs),
        baseline: fmtMs(syncMs),
        ratio: fmtRatio(ratio(again.wallMs, syncMs)),
        target: "—",
      },
    ],
    figures: {
      go_import_requests: requests,
      go_import_ms: round(first.wallMs),
      go_import_again_ms: round(again.wallMs),
      go_import_peak_mb: round(first.peakMb),
      go_import_initial_sync_ms: round(syncMs),
      go_import_sync_ratio: round(r, 3),
    },
  };
}
