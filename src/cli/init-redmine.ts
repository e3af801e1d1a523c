// The Redmine step of `honoroit init`: the URL and API key checked with Redmine itself, then the
// project, the tracker and the three statuses picked from the lists Redmine gives (attended) or
// named by flags and found in those lists (unattended). Nothing is written here: the answers
// join the rest, and the file is written once every step has passed.
import path from "node:path";
import type { RedmineProject, RedmineStatus, RedmineTracker } from "../adapters/redmine/client.ts";
import type { RedmineChoices } from "../adapters/redmine/setup-checks.ts";
import { HonoroitError } from "../core/errors.ts";
import { kebab, secretFromFile, validateWith, type Answers, type InitFlags, type Wizard } from "./init-wizard.ts";

const REDMINE_FLAGS = [
  "redmineHost",
  "redmineApiKeyFile",
  "redmineProject",
  "redmineTracker",
  "redmineNewStatus",
  "redmineInProgressStatus",
  "redmineDoneStatus",
] as const satisfies readonly (keyof InitFlags)[];

type StatusFlag = "redmineNewStatus" | "redmineInProgressStatus" | "redmineDoneStatus";

/** Something picked from a Redmine list: by id, by name in any case, or (a project) by identifier. */
interface Listed {
  readonly id: number;
  readonly name: string;
  readonly identifier?: string;
}

function find<T extends Listed>(list: readonly T[], typed: string): T | undefined {
  const t = typed.trim();
  const lower = t.toLowerCase();
  return list.find((x) => x.identifier === t || String(x.id) === t) ?? list.find((x) => x.name.toLowerCase() === lower || x.identifier?.toLowerCase() === lower);
}

/** The entry `typed` names, or a refusal naming the flag, what was missing and what there is. */
function pick<T extends Listed>(list: readonly T[], typed: string, flag: keyof InitFlags, missing: string): T {
  const found = find(list, typed);
  if (found !== undefined) return found;
  const there = list.map((x) => (x.identifier === undefined ? x.name : `${x.identifier} (${x.name})`)).join(", ");
  throw new HonoroitError("BAD_ARGUMENT", `--${kebab(flag)}: ${missing} "${typed.trim()}"; there are: ${there}`);
}

/** Redmine's own guesses for the three statuses, offered as the defaults. */
function defaultStatuses(statuses: readonly RedmineStatus[], tracker: RedmineTracker): Record<StatusFlag, RedmineStatus> {
  const open = statuses.filter((s) => !s.closed);
  const closed = statuses.filter((s) => s.closed);
  const first = statuses[0];
  if (first === undefined) throw new Error("Redmine listed no statuses");
  // The tracker's default status is what Redmine itself gives a new issue.
  const fresh = statuses.find((s) => s.id === tracker.defaultStatusId) ?? open[0] ?? first;
  const working = open.find((s) => /progress/i.test(s.name)) ?? open.find((s) => s.id !== fresh.id) ?? fresh;
  const done = closed.find((s) => /^(closed|done)$/i.test(s.name)) ?? closed[0] ?? statuses[statuses.length - 1] ?? first;
  return { redmineNewStatus: fresh, redmineInProgressStatus: working, redmineDoneStatus: done };
}

const STATUS_QUESTIONS: Readonly<Record<StatusFlag, string>> = {
  redmineNewStatus: 'Status "new" (waiting for an operator)',
  redmineInProgressStatus: 'Status "in progress" (waiting for the customer)',
  redmineDoneStatus: 'Status "done" (request closed)',
};

interface Connected {
  readonly host: string;
  readonly apiKey: string;
  readonly keyFile: string | undefined;
  readonly redmine: RedmineChoices;
}

/** The URL and key, asked until Redmine accepts them (attended) or refused with the reason. */
async function connect(w: Wizard): Promise<Connected> {
  const { connectRedmine } = await import("../adapters/redmine/setup-checks.ts");
  let typedHost: string | undefined;
  return w.until(async (first) => {
    const ww = w.withFlags(first);
    const host = (
      await ww.answer("redmineHost", (p) =>
        p.input({ message: "Redmine URL (e.g. https://redmine.example.com)", ...(typedHost === undefined ? {} : { default: typedHost }), validate: validateWith("redmine.host") }),
      )
    )
      .trim()
      .replace(/\/+$/, "");
    const valid = validateWith("redmine.host")(host);
    if (valid !== true) throw new HonoroitError("BAD_ARGUMENT", `--redmine-host: ${valid}`);
    // Asked again after a refusal, the URL typed is the default: a wrong key is retyped alone.
    typedHost = host;
    const keyFile = first ? w.flag("redmineApiKeyFile") : undefined;
    const apiKey =
      keyFile !== undefined
        ? await secretFromFile(keyFile, "the Redmine API key")
        : (await ww.answer("redmineApiKeyFile", (p) => p.password({ message: 'Redmine API key (from "My account")', validate: validateWith("redmine.apiKey") }))).trim();
    const keyName = keyFile !== undefined ? `the API key in ${keyFile} (--redmine-api-key-file)` : "this API key";
    return { host, apiKey, keyFile, redmine: await connectRedmine(host, apiKey, keyName) };
  });
}

/**
 * Asks whether to sync with Redmine (default no; `--redmine-host` says yes) and, if so, fills
 * the `redmine.*` answers with what Redmine accepted.
 */
export async function askRedmine(w: Wizard, answers: Answers, done: (line: string) => void): Promise<void> {
  const given = REDMINE_FLAGS.filter((flag) => w.flag(flag) !== undefined);
  if (w.flag("redmineHost") === undefined) {
    if (!w.attended) {
      if (given[0] !== undefined) throw new HonoroitError("BAD_ARGUMENT", `--${kebab(given[0])} needs --redmine-host (the Redmine URL)`);
      return;
    }
    if (given.length === 0 && !(await w.ask((p) => p.confirm({ message: "Sync requests with Redmine (an issue for each request)?", default: false })))) return;
  }
  const conn = await connect(w);
  const { redmine } = conn;
  try {
    done(`Redmine at ${redmine.host} accepts the API key (user ${redmine.login})`);
    const { project, trackers } = await w.until(async (first): Promise<{ project: RedmineProject; trackers: RedmineTracker[] }> => {
      const typed = await w.withFlags(first).answer("redmineProject", (p) => p.select({ message: "Redmine project", choices: redmine.projects.map((x) => ({ value: x.identifier, name: `${x.name} (${x.identifier})` })) }));
      const project = pick(redmine.projects, typed, "redmineProject", `user ${redmine.login} sees no open project`);
      const trackers = await redmine.trackersOf(project);
      if (trackers.length === 0) throw new HonoroitError("BAD_ARGUMENT", `project ${project.name} has no tracker: enable one in its settings (Issue tracking)`);
      return { project, trackers };
    });
    const [firstTracker] = trackers as [RedmineTracker, ...RedmineTracker[]];
    const tracker = await w.until(async (first) => {
      const typed = await w
        .withFlags(first)
        .answer("redmineTracker", (p) => p.select({ message: "Tracker of the new issues", choices: trackers.map((t) => ({ value: String(t.id), name: t.name })), default: String(firstTracker.id) }), String(firstTracker.id));
      return pick(trackers, typed, "redmineTracker", `project ${project.name} has no tracker`);
    });
    const defaults = defaultStatuses(redmine.statuses, tracker);
    const status = (flag: StatusFlag): Promise<RedmineStatus> =>
      w.until(async (first) => {
        const fallback = String(defaults[flag].id);
        const typed = await w
          .withFlags(first)
          .answer(flag, (p) => p.select({ message: STATUS_QUESTIONS[flag], choices: redmine.statuses.map((s) => ({ value: String(s.id), name: s.closed ? `${s.name} (closes the issue)` : s.name })), default: fallback }), fallback);
        return pick(redmine.statuses, typed, flag, "Redmine has no issue status");
      });
    const fresh = await status("redmineNewStatus");
    const working = await status("redmineInProgressStatus");
    const closed = await status("redmineDoneStatus");

    answers["redmine.host"] = redmine.host;
    if (conn.keyFile !== undefined) answers["redmine.apiKeyFile"] = path.resolve(conn.keyFile);
    else answers["redmine.apiKey"] = conn.apiKey;
    answers["redmine.project"] = project.identifier;
    answers["redmine.trackerId"] = tracker.id;
    answers["redmine.newStatusId"] = fresh.id;
    answers["redmine.inProgressStatusId"] = working.id;
    answers["redmine.doneStatusId"] = closed.id;
    done(`Redmine project ${project.name} (${project.identifier}): new issues as ${tracker.name}; ${fresh.name} while a request waits for an operator, ${working.name} while it waits for the customer, ${closed.name} when it is done`);
  } finally {
    await redmine.close();
  }
}
