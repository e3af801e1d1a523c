// The real Redmine started by test/redmine/start.sh (it prints HONOROIT_TEST_REDMINE_URL,
// _KEY for the bot's API user, _HUMAN_KEY for a human operator, _PROJECT). Tests act as the
// human through its REST API, as a person in Redmine's web pages would.
import type { TestContext } from "node:test";
import { requireService } from "./services.ts";

export interface RedmineEnv {
  readonly url: string;
  readonly botKey: string;
  readonly humanKey: string;
  readonly project: string;
}

const HINT = "run test/redmine/setup.sh && test/redmine/start.sh and export what it prints";

/** The Redmine from the environment, or undefined after skipping the test (failing it under CI). */
export function skipUnlessRedmine(t: TestContext): RedmineEnv | undefined {
  const get = (name: string): string => process.env[name]?.trim() ?? "";
  const env = { url: get("HONOROIT_TEST_REDMINE_URL").replace(/\/+$/, ""), botKey: get("HONOROIT_TEST_REDMINE_KEY"), humanKey: get("HONOROIT_TEST_REDMINE_HUMAN_KEY"), project: get("HONOROIT_TEST_REDMINE_PROJECT") };
  const missing = Object.entries(env).filter(([, v]) => v === "").map(([k]) => k);
  if (!requireService(t, "Redmine", missing.length === 0 ? undefined : `${missing.join(", ")} not set (${HINT})`)) return undefined;
  return env;
}

export interface Journal {
  readonly id: number;
  readonly user: { readonly id: number; readonly name: string };
  readonly notes: string;
  readonly private_notes: boolean;
  readonly details: readonly { readonly property: string; readonly name: string; readonly new_value: string | null }[];
}

export interface Attachment {
  readonly id: number;
  readonly filename: string;
  readonly filesize: number;
  readonly content_type: string | null;
  readonly content_url: string;
  readonly author: { readonly id: number; readonly name: string };
}

export interface Issue {
  readonly id: number;
  readonly subject: string;
  readonly description: string;
  readonly status: { readonly id: number; readonly name: string };
  readonly tracker: { readonly id: number };
  readonly journals?: readonly Journal[];
  readonly attachments?: readonly Attachment[];
}

/** Redmine's REST API with one user's key. */
export class RedmineApi {
  constructor(
    private readonly url: string,
    private readonly key: string,
  ) {}

  static human(env: RedmineEnv): RedmineApi {
    return new RedmineApi(env.url, env.humanKey);
  }

  async issue(id: number): Promise<Issue> {
    return ((await this.call("GET", `/issues/${id}.json?include=journals,attachments`)) as { issue: Issue }).issue;
  }

  /** An attachment's bytes, downloaded as a person with access to the issue does. */
  async download(attachment: Attachment): Promise<Buffer> {
    const res = await fetch(attachment.content_url, { headers: { "X-Redmine-API-Key": this.key } });
    if (!res.ok) throw new Error(`Redmine GET ${attachment.content_url}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Writes a note (private: operators only), optionally changing the status. */
  async note(id: number, notes: string, opts: { private?: boolean; statusId?: number } = {}): Promise<void> {
    await this.call("PUT", `/issues/${id}.json`, { issue: { notes, private_notes: opts.private === true, ...(opts.statusId === undefined ? {} : { status_id: opts.statusId }) } });
  }

  async setStatus(id: number, statusId: number): Promise<void> {
    await this.call("PUT", `/issues/${id}.json`, { issue: { status_id: statusId } });
  }

  /** Creates a project (as an admin), by default with every tracker. */
  async createProject(identifier: string, opts: { name?: string; trackerIds?: readonly number[] } = {}): Promise<void> {
    await this.call("POST", "/projects.json", { project: { name: opts.name ?? identifier, identifier, tracker_ids: opts.trackerIds ?? [1, 2, 3], enabled_module_names: ["issue_tracking"] } });
  }

  async deleteProject(identifier: string): Promise<void> {
    await this.call("DELETE", `/projects/${identifier}.json`);
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { "X-Redmine-API-Key": this.key, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Redmine ${method} ${path}: ${res.status} ${text}`);
    return text === "" ? {} : (JSON.parse(text) as unknown);
  }
}

/** The settings that point honoroit at the test Redmine (statuses of Redmine's default data). */
export function redmineSettings(env: RedmineEnv, url = env.url): Record<string, string> {
  return {
    HONOROIT_REDMINE_HOST: url,
    HONOROIT_REDMINE_APIKEY: env.botKey,
    HONOROIT_REDMINE_PROJECT: env.project,
    HONOROIT_REDMINE_TRACKERID: "3",
    HONOROIT_REDMINE_NEWSTATUSID: "1",
    HONOROIT_REDMINE_INPROGRESSSTATUSID: "2",
    HONOROIT_REDMINE_DONESTATUSID: "5",
    HONOROIT_REDMINE_POLLINTERVAL: "1",
  };
}
