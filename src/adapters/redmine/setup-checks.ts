// What `honoroit init` checks against the real Redmine before it writes anything: that the URL
// answers as Redmine and knows the API key (asked whom it belongs to), and the projects,
// trackers and statuses the person picks from.
import { HonoroitError, messageOf, RefusedError } from "../../core/errors.ts";
import { RedmineClient, type RedmineProject, type RedmineStatus, type RedmineTracker } from "./client.ts";

const CHECK_TIMEOUT_MS = 10_000;

/** A Redmine that accepted the key, and what it offers to choose from. */
export interface RedmineChoices {
  readonly host: string;
  /** The login of the key's user. */
  readonly login: string;
  /** The open projects the key sees (issues cannot be added to a closed one). */
  readonly projects: readonly RedmineProject[];
  readonly statuses: readonly RedmineStatus[];
  /** The trackers the project has, in Redmine's order, each with its default status. */
  trackersOf(project: RedmineProject): Promise<RedmineTracker[]>;
  close(): Promise<void>;
}

/**
 * Asks Redmine whom `apiKey` belongs to, then reads the lists. Every refusal is a
 * HonoroitError fit for the person; `keyName` says where the key came from (a flag's file or
 * the answer typed), so a refused key is named as the person knows it.
 */
export async function connectRedmine(host: string, apiKey: string, keyName: string): Promise<RedmineChoices> {
  const base = host.replace(/\/+$/, "");
  // Listing needs no project: the client's project-bound calls are not used here.
  const client = new RedmineClient({ host: base, apiKey, project: "", trackerId: null, newStatusId: null, inProgressStatusId: null, doneStatusId: null }, { timeoutMs: CHECK_TIMEOUT_MS });
  const explained = <T>(call: Promise<T>, what: string): Promise<T> => call.catch((error: unknown) => Promise.reject(explain(error, base, keyName, what)));
  try {
    const user = await explained(client.currentUser(), "GET /users/current.json");
    const [projects, statuses, trackers] = await explained(Promise.all([client.projects(), client.statuses(), client.trackers()]), "the lists of projects, statuses and trackers");
    const open = projects.filter((p) => p.open);
    if (open.length === 0) {
      throw new HonoroitError("BAD_ARGUMENT", `user ${user.login} sees no open project in Redmine at ${base}: make it a member of the project (with a role that may add issues and notes)`);
    }
    if (statuses.length === 0) throw new HonoroitError("BAD_ARGUMENT", `Redmine at ${base} lists no issue statuses to user ${user.login}`);
    return {
      host: base,
      login: user.login,
      projects: open,
      statuses,
      async trackersOf(project) {
        const ids = await explained(client.projectTrackerIds(project.identifier), `GET /projects/${project.identifier}.json`);
        return ids === undefined ? trackers : trackers.filter((t) => ids.includes(t.id));
      },
      close: () => client.close(),
    };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** A failure in words for the person running `init`: what is wrong, and where to fix it. */
function explain(error: unknown, base: string, keyName: string, what: string): HonoroitError {
  if (error instanceof HonoroitError) {
    if (error.code !== "UNREACHABLE") return error;
    return new HonoroitError("UNREACHABLE", `${error.message}: check the URL, and that this machine can reach it`, { cause: error });
  }
  if (error instanceof RefusedError) {
    const status = error.status ?? 0;
    const reason =
      status === 401
        ? `Redmine at ${base} does not accept ${keyName}: ${what} answered 401. Use the key shown in Redmine under "My account" → "API access key", and check that the REST API is enabled (Administration → Settings → API)`
        : status === 403
          ? `Redmine at ${base} refuses ${keyName} access (${what} answered 403): check the REST API is enabled (Administration → Settings → API) and the user's permissions`
          : status === 404
            ? `${base} answers, but no Redmine API is there (${what} answered 404): use Redmine's own address, with its path if it has one`
            : `Redmine at ${base} refused ${what}: ${error.message}`;
    return new HonoroitError("BAD_ARGUMENT", reason, { cause: error });
  }
  // A 200 that is not Redmine's JSON (a web page, another service).
  return new HonoroitError("BAD_ARGUMENT", `${base} answers, but not as Redmine's REST API (${what}: ${messageOf(error)})`, { cause: error });
}
