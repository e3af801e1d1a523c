// `honoroit init`'s Redmine step against a real Redmine and Synapse, through the real binary:
// unattended, each wrong answer (a key Redmine does not know, a Redmine that does not answer, a
// project, tracker or status it does not have) refused with the reason and nothing written, then
// a working setup that serve accepts and syncs with; in a terminal, a wrong key asked again
// below the reason, and the project, tracker and statuses picked from Redmine's lists with the
// arrow keys, then the /metrics login asked for.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";
import { RedmineApi, skipUnlessRedmine } from "../support/redmine.ts";
import { freePort, runCli, ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";
import { assertInOrder, KEY, Terminal } from "../support/terminal.ts";
import { makeWorld, PASSWORD } from "./world.ts";

const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface WrittenRedmine {
  readonly host?: string;
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly project?: string;
  readonly trackerId?: number;
  readonly newStatusId?: number;
  readonly inProgressStatusId?: number;
  readonly doneStatusId?: number;
}

describe("honoroit init with Redmine", { timeout: 240_000 }, () => {
  it("--yes: a wrong key, a dead URL, an unknown project, tracker or status is refused with the reason and nothing written; a working one is written and serve syncs with it", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    const file = path.join(w.dir, "etc", "honoroit.config.json");
    const password = path.join(w.dir, "password");
    const key = path.join(w.dir, "redmine-key");
    const wrongKey = path.join(w.dir, "wrong-redmine-key");
    await writeFile(password, `${PASSWORD}\n`);
    await writeFile(key, `${rm.botKey}\n`);
    await writeFile(wrongKey, "0123456789abcdef0123456789abcdef01234567\n");
    const base = ["--config", file, "init", "--yes", "--homeserver", w.hs.url, "--login", w.env["HONOROIT_LOGIN"] ?? "", "--password-file", password, "--room-id", w.opsRoom, "--port", String(await freePort())];
    const redmine = ["--redmine-host", rm.url, "--redmine-api-key-file", key, "--redmine-project", rm.project];
    const refused = async (args: readonly string[], code: number, message: RegExp): Promise<void> => {
      const run = await runCli([...base, ...args], {});
      assert.equal(run.code, code, `${args.join(" ")}:\n${run.stderr}`);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stdout, /✓ wrote/);
      assert.equal(existsSync(file), false, `a refused init writes no file (${args.join(" ")})`);
    };

    await refused(["--redmine-host", rm.url, "--redmine-api-key-file", wrongKey, "--redmine-project", rm.project], 2, new RegExp(`Redmine at ${literally(rm.url)} does not accept the API key in ${literally(wrongKey)} \\(--redmine-api-key-file\\): GET /users/current\\.json answered 401`));
    await refused(["--redmine-host", "http://127.0.0.1:1", "--redmine-api-key-file", key, "--redmine-project", rm.project], 4, /Redmine at http:\/\/127\.0\.0\.1:1 is unreachable .*: check the URL/);
    await refused([...redmine.slice(0, 4), "--redmine-project", "no-such-project"], 2, /--redmine-project: user honoroit sees no open project "no-such-project"; there are: .*helpdesk \(Helpdesk\)/);
    await refused([...redmine, "--redmine-tracker", "Incident"], 2, /--redmine-tracker: project Helpdesk has no tracker "Incident"; there are: Bug, Feature, Support/);
    await refused([...redmine, "--redmine-done-status", "Finished"], 2, /--redmine-done-status: Redmine has no issue status "Finished"; there are: New, In Progress, Resolved, Feedback, Closed, Rejected/);
    await refused(["--redmine-project", rm.project], 2, /--redmine-project needs --redmine-host/);
    await refused(["--redmine-host", rm.url, "--redmine-project", rm.project], 2, /--redmine-api-key-file is needed/);

    // Names in any case, or ids; what has no flag takes Redmine's own defaults.
    const ok = await runCli([...base, "--redmine-host", `${rm.url}/`, "--redmine-api-key-file", key, "--redmine-project", "Helpdesk", "--redmine-tracker", "feature", "--redmine-in-progress-status", "4"], {});
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^✓ Redmine at ${literally(rm.url)} accepts the API key \\(user honoroit\\)$`, "m"));
    assert.match(ok.stdout, /^✓ Redmine project Helpdesk \(helpdesk\): new issues as Feature; New while a request waits for an operator, Feedback while it waits for the customer, Closed when it is done$/m);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const written = JSON.parse(await readFile(file, "utf8")) as { redmine?: WrittenRedmine };
    assert.deepEqual(written.redmine, { host: rm.url, apiKeyFile: key, project: "helpdesk", trackerId: 2, newStatusId: 1, inProgressStatusId: 4, doneStatusId: 5 }, "the key stays in its file; the picks are written as ids");

    // serve checks the key and the project at start and syncs with what init wrote.
    const serve = w.track(await ServeProcess.start({}, { args: ["--config", file] }));
    assert.match(serve.output, /Redmine sync on.*user=honoroit.*project=Helpdesk/);
    const dm = await w.openDm();
    await w.customer.client.sendTextMessage(dm, "set up by init, synced to Redmine");
    const issue = await waitFor(async () => {
      const list = await runCli(["--config", file, "tickets", "list", "--json"], {});
      return (JSON.parse(list.stdout) as { redmineIssueId: number | null }[])[0]?.redmineIssueId ?? undefined;
    }, { what: "the request's Redmine issue", timeoutMs: 30_000, intervalMs: 500 });
    const created = await RedmineApi.human(rm).issue(issue);
    assert.equal(created.tracker.id, 2, "the tracker picked");
    assert.equal(created.status.name, "New");
    assert.equal(await serve.stop("SIGTERM"), 0);
  });

  it("in a terminal: a wrong key asked again below the reason; project, tracker and statuses picked from Redmine's lists; then the /metrics login", async (t) => {
    const rm = skipUnlessRedmine(t);
    if (rm === undefined) return;
    const w = await makeWorld(t);
    if (w === undefined) return;
    // A second project, with two of the three trackers: the list offers the project's own.
    const project = `init-${randomBytes(4).toString("hex")}`;
    const human = RedmineApi.human(rm);
    await human.createProject(project, { name: `Zeta ${project}`, trackerIds: [2, 3] });
    t.after(() => human.deleteProject(project));
    const file = path.join(w.dir, "etc", "honoroit.config.json");
    const term = Terminal.start(["--config", file, "init"], {}, w.dir);
    t.after(() => term.kill());

    await term.answer("Homeserver (a URL, or your Matrix domain)", `${w.hs.url}${KEY.enter}`);
    await term.answer("How does the bot log in?", KEY.enter);
    await term.answer("Bot's login", `${w.env["HONOROIT_LOGIN"] ?? ""}${KEY.enter}`);
    await term.answer("Bot's password", `${PASSWORD}${KEY.enter}`);
    await term.answer("Operators room", `${KEY.down}${KEY.enter}`);
    await term.answer("Operators room ID or alias", `${w.opsRoom}${KEY.enter}`);
    await term.answer("Database", KEY.enter);
    await term.answer("SQLite file", KEY.enter);
    await term.answer("Sync requests with Redmine", `y${KEY.enter}`);
    await term.answer("Redmine URL", `${rm.url}${KEY.enter}`);
    await term.answer("Redmine API key", `not-the-key${KEY.enter}`);
    // Asked again with the URL typed as the default: only the key is typed anew.
    await term.answer("Redmine URL", KEY.enter);
    await term.answer("Redmine API key", `${rm.botKey}${KEY.enter}`);
    const projects = await term.choose("Redmine project", new RegExp(`^Zeta ${project} \\(${project}\\)$`));
    assert.ok(projects.includes("Helpdesk (helpdesk)"), projects.join(" | "));
    const trackers = await term.choose("Tracker of the new issues", /^Support$/);
    assert.deepEqual(trackers, ["Feature", "Support"], "the project's trackers, not Bug");
    await term.answer('Status "new"', KEY.enter); // the tracker's default, New
    await term.answer('Status "in progress"', KEY.enter); // In Progress
    const statuses = await term.choose('Status "done"', /^Rejected/);
    assert.deepEqual(statuses, ["New", "In Progress", "Resolved", "Feedback", "Closed (closes the issue)", "Rejected (closes the issue)"]);
    await term.answer("HTTP port for /_health and /metrics", KEY.enter);
    await term.answer("Protect /metrics with a login and password?", `y${KEY.enter}`);
    await term.answer("Metrics login", `prometheus${KEY.enter}`);
    await term.answer("Metrics password", `scrape it carefully${KEY.enter}`);
    const code = await term.exit();
    const screen = term.screen;
    assert.equal(code, 0, screen.join("\n"));

    assertInOrder(screen, [
      /^✓ database ready /,
      /^✔ Sync requests with Redmine \(an issue for each request\)\? Yes$/,
      new RegExp(`^✔ Redmine URL \\(e\\.g\\. https://redmine\\.example\\.com\\) ${literally(rm.url)}$`),
      /^✔ Redmine API key \(from "My account"\) \*+$/,
      new RegExp(`^✗ Redmine at ${literally(rm.url)} does not accept this API key: GET /users/current\\.json answered 401\\. Use the key shown in Redmine under "My account" → "API access key"`),
      new RegExp(`^✔ Redmine URL .* ${literally(rm.url)}$`),
      /^✔ Redmine API key \(from "My account"\) \*+$/,
      new RegExp(`^✓ Redmine at ${literally(rm.url)} accepts the API key \\(user honoroit\\)$`),
      new RegExp(`^✔ Redmine project Zeta ${project} \\(${project}\\)$`),
      /^✔ Tracker of the new issues Support$/,
      /^✔ Status "new" \(waiting for an operator\) New$/,
      /^✔ Status "in progress" \(waiting for the customer\) In Progress$/,
      /^✔ Status "done" \(request closed\) Rejected \(closes the issue\)$/,
      new RegExp(`^✓ Redmine project Zeta ${project} \\(${project}\\): new issues as Support; New while a request waits for an operator, In Progress while it waits for the customer, Rejected when it is done$`),
      /^✔ HTTP port for \/_health and \/metrics .* 8080$/,
      /^✔ Protect \/metrics with a login and password\? Yes$/,
      /^✔ Metrics login prometheus$/,
      /^✔ Metrics password \*+$/,
      new RegExp(`^✓ wrote ${literally(file)} \\(mode 0600\\)$`),
      new RegExp(`^next: honoroit --config ${literally(file)} serve$`),
    ]);
    assert.equal(screen.filter((line) => line.startsWith("✓ Redmine")).length, 2, `each Redmine check shown once:\n${screen.join("\n")}`);
    assert.ok(!term.output.includes(rm.botKey), "the API key typed is never shown");
    assert.ok(!term.output.includes("scrape it carefully"), "the metrics password typed is never shown");

    assert.equal((await stat(file)).mode & 0o777, 0o600, "the file holds the key and the passwords");
    const written = JSON.parse(await readFile(file, "utf8")) as { redmine?: WrittenRedmine; metrics?: unknown };
    assert.deepEqual(written.redmine, { host: rm.url, apiKey: rm.botKey, project, trackerId: 3, newStatusId: 1, inProgressStatusId: 2, doneStatusId: 6 });
    assert.deepEqual(written.metrics, { login: "prometheus", password: "scrape it carefully" });
  });
});
