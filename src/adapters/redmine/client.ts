// Redmine's REST API with undici. What Redmine does that a client must know: updates answer
// 204 with no body; without `Content-Type: application/json` a body is misread (a misleading
// 422); two edits of one issue at once can give 422 with an empty error list (tried again); a
// status change the key may not make is dropped silently with 204 (read back and checked); a
// bad API key is treated as anonymous (so /users/current.json answers 401); `updated_on>=`
// takes whole-second UTC only, and lists show open issues only unless `status_id=*`. Files are
// uploaded as `application/octet-stream` (anything else is refused) for a token that one
// change attaches; a file over Redmine's size limit (5 MB by default) is refused with 422.
import type { Dispatcher } from "undici";
import { LazyAgent } from "../http/lazy-agent.ts";
import { HonoroitError, RefusedError } from "../../core/errors.ts";
import type { IssueTracker, TrackerChange, TrackerIssue, TrackerIssueDetail, TrackerNote, TrackerStatus, TrackerUser } from "../../core/ports/issue-tracker.ts";
import { sleep } from "../../core/timing.ts";

/** The six Redmine settings, as the adapter needs them. */
export interface RedmineSettings {
  readonly host: string;
  readonly apiKey: string;
  readonly project: string;
  readonly trackerId: number | null;
  readonly newStatusId: number | null;
  readonly inProgressStatusId: number | null;
  readonly doneStatusId: number | null;
}

export interface RedmineClientOptions {
  /** Per request, default 15 s. */
  readonly timeoutMs?: number;
  /** Counts every HTTP request made (the benchmark reads it). */
  readonly onRequest?: (method: string, path: string) => void;
}

/** How often an update refused with an empty 422 (a concurrent edit) is tried again at once. */
const EMPTY_422_RETRIES = 3;
const PAGE = 100;

/** A project the API key sees, as `init` offers it. */
export interface RedmineProject {
  readonly id: number;
  readonly identifier: string;
  readonly name: string;
  /** Closed projects are read-only: no issues can be added. */
  readonly open: boolean;
}

/** A tracker, with the status Redmine gives its new issues. */
export interface RedmineTracker {
  readonly id: number;
  readonly name: string;
  readonly defaultStatusId: number | null;
}

/** An issue status; a closed one ends an issue. */
export interface RedmineStatus {
  readonly id: number;
  readonly name: string;
  readonly closed: boolean;
}

interface RawStatus { readonly id: number; readonly is_closed?: boolean }
interface RawIssue { readonly id: number; readonly status: RawStatus; readonly updated_on: string }
interface RawJournal {
  readonly id: number;
  readonly user?: { readonly id: number; readonly name: string };
  readonly notes?: string | null;
  readonly private_notes?: boolean;
}

/** Redmine as an IssueTracker. */
export class RedmineClient implements IssueTracker {
  private readonly base: string;
  private readonly agent: LazyAgent;
  private me: TrackerUser | undefined;

  constructor(
    private readonly settings: RedmineSettings,
    private readonly options: RedmineClientOptions = {},
  ) {
    this.base = settings.host.replace(/\/+$/, "");
    const timeout = options.timeoutMs ?? 15_000;
    this.agent = new LazyAgent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, connections: 4 });
  }

  async currentUser(): Promise<TrackerUser> {
    if (this.me !== undefined) return this.me;
    const body = (await this.call("GET", "/users/current.json")) as { user: { id: number; login: string } };
    this.me = { id: body.user.id, login: body.user.login };
    return this.me;
  }

  /** The configured project, as the key sees it (a refusal: it does not exist, or the key may not see it). */
  async project(): Promise<{ id: number; name: string }> {
    const body = (await this.call("GET", `/projects/${encodeURIComponent(this.settings.project)}.json`)) as { project: { id: number; name: string } };
    return body.project;
  }

  /** Every project the key sees, all pages. */
  async projects(): Promise<RedmineProject[]> {
    const found: RedmineProject[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const body = (await this.call("GET", `/projects.json?limit=${PAGE}&offset=${offset}`)) as { projects: { id: number; identifier: string; name: string; status?: number }[]; total_count: number };
      // Status 1 is active, 5 closed (read-only); archived ones are not listed.
      found.push(...body.projects.map((p) => ({ id: p.id, identifier: p.identifier, name: p.name, open: p.status === undefined || p.status === 1 })));
      if (body.projects.length < PAGE || offset + PAGE >= body.total_count) return found;
    }
  }

  /** The ids of the trackers a project has, or undefined when Redmine leaves them out. */
  async projectTrackerIds(identifier: string): Promise<number[] | undefined> {
    const body = (await this.call("GET", `/projects/${encodeURIComponent(identifier)}.json?include=trackers`)) as { project: { trackers?: { id: number }[] } };
    return body.project.trackers?.map((t) => t.id);
  }

  /** Every tracker, with its default status. */
  async trackers(): Promise<RedmineTracker[]> {
    const body = (await this.call("GET", "/trackers.json")) as { trackers: { id: number; name: string; default_status?: { id: number } | null }[] };
    return body.trackers.map((t) => ({ id: t.id, name: t.name, defaultStatusId: t.default_status?.id ?? null }));
  }

  /** Every issue status, in Redmine's order. */
  async statuses(): Promise<RedmineStatus[]> {
    const body = (await this.call("GET", "/issue_statuses.json")) as { issue_statuses: { id: number; name: string; is_closed?: boolean }[] };
    return body.issue_statuses.map((s) => ({ id: s.id, name: s.name, closed: s.is_closed === true }));
  }

  async createIssue(subject: string, description: string): Promise<number> {
    const { trackerId, newStatusId, project } = this.settings;
    const issue = {
      project_id: project,
      subject,
      description,
      ...(trackerId === null ? {} : { tracker_id: trackerId }),
      ...(newStatusId === null ? {} : { status_id: newStatusId }),
    };
    const body = (await this.call("POST", "/issues.json", { json: { issue } })) as { issue: { id: number } };
    return body.issue.id;
  }

  async findIssue(marker: string): Promise<number | undefined> {
    const me = await this.currentUser();
    const query = new URLSearchParams({ project_id: this.settings.project, author_id: String(me.id), status_id: "*", sort: "id:desc", limit: "25" });
    const body = (await this.call("GET", `/issues.json?${query.toString()}`)) as { issues: (RawIssue & { description?: string | null })[] };
    return body.issues.find((i) => (i.description ?? "").includes(marker))?.id;
  }

  async updateIssue(id: number, change: TrackerChange): Promise<void> {
    const statusId = change.status === undefined ? null : this.statusId(change.status);
    const uploads = (change.attachments ?? []).map((a) => ({ token: a.token, filename: a.filename, ...(a.contentType === undefined ? {} : { content_type: a.contentType }) }));
    const issue = {
      ...(change.note === undefined ? {} : { notes: change.note }),
      ...(uploads.length === 0 ? {} : { uploads }),
      ...(statusId === null ? {} : { status_id: statusId }),
    };
    if (Object.keys(issue).length === 0) return;
    await this.call("PUT", `/issues/${id}.json`, { json: { issue } });
    if (statusId === null) return;
    const now = (await this.call("GET", `/issues/${id}.json`)) as { issue: RawIssue };
    if (now.issue.status.id !== statusId) {
      throw new RefusedError(`Redmine kept issue #${id} in status ${now.issue.status.id} instead of ${statusId} (the workflow, or the API user's role, does not allow that change)`, { status: 422 });
    }
  }

  async upload(filename: string, bytes: Uint8Array): Promise<string> {
    try {
      const body = (await this.call("POST", `/uploads.json?${new URLSearchParams({ filename }).toString()}`, { bytes })) as { upload: { token: string } };
      return body.upload.token;
    } catch (error) {
      if (!(error instanceof RedmineRefusal)) throw error;
      // In words for the note that names the file: Redmine's own reasons where it gives them.
      const why = error.status === 413
        ? "too large for Redmine (413)"
        : error.reasons.length > 0 ? error.reasons.join("; ") : `Redmine answered ${error.status ?? "?"}${error.status === 403 ? " (the API user may not add files)" : ""}`;
      throw new RefusedError(`Redmine refused it: ${why}`, { status: error.status }, { cause: error });
    }
  }

  async issue(id: number): Promise<TrackerIssueDetail> {
    const body = (await this.call("GET", `/issues/${id}.json?include=journals`)) as { issue: RawIssue & { journals?: RawJournal[] } };
    const notes: TrackerNote[] = (body.issue.journals ?? []).map((j) => ({
      id: j.id,
      authorId: j.user?.id ?? 0,
      author: j.user?.name ?? "?",
      text: j.notes ?? "",
      private: j.private_notes === true,
    }));
    notes.sort((a, b) => a.id - b.id);
    return { ...this.toIssue(body.issue), notes };
  }

  async updatedSince(since: Date): Promise<TrackerIssue[]> {
    const at = `${since.toISOString().slice(0, 19)}Z`;
    const found: TrackerIssue[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const query = new URLSearchParams({
        project_id: this.settings.project,
        status_id: "*",
        updated_on: `>=${at}`,
        sort: "updated_on",
        limit: String(PAGE),
        offset: String(offset),
      });
      const body = (await this.call("GET", `/issues.json?${query.toString()}`)) as { issues: RawIssue[]; total_count: number };
      found.push(...body.issues.map((i) => this.toIssue(i)));
      if (body.issues.length < PAGE || offset + PAGE >= body.total_count) return found;
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private statusId(status: TrackerStatus): number | null {
    const { newStatusId, inProgressStatusId, doneStatusId } = this.settings;
    return { new: newStatusId, "in-progress": inProgressStatusId, done: doneStatusId }[status];
  }

  private toIssue(raw: RawIssue): TrackerIssue {
    const closed = raw.status.is_closed === true || raw.status.id === this.settings.doneStatusId;
    return { id: raw.id, closed, updatedOn: new Date(raw.updated_on) };
  }

  /** One request; an empty 422 (a concurrent edit) is tried again a few times. */
  private async call(method: Dispatcher.HttpMethod, path: string, body?: RequestBody): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, path, body);
      } catch (error) {
        if (!(error instanceof EmptyRefusal) || attempt >= EMPTY_422_RETRIES) {
          if (error instanceof EmptyRefusal) throw new HonoroitError("BUSY", `Redmine refused ${method} ${path} with an empty 422 ${attempt + 1} times (concurrent edits)`);
          throw error;
        }
        await sleep(200 * (attempt + 1));
      }
    }
  }

  private async once(method: Dispatcher.HttpMethod, path: string, body?: RequestBody): Promise<unknown> {
    this.options.onRequest?.(method, path);
    let response: Dispatcher.ResponseData;
    const sent = body === undefined ? undefined : "bytes" in body ? { type: "application/octet-stream", data: body.bytes } : { type: "application/json", data: JSON.stringify(body.json) };
    try {
      response = await this.agent.request(`${this.base}${path}`, {
        method,
        headers: {
          "x-redmine-api-key": this.settings.apiKey,
          accept: "application/json",
          ...(sent === undefined ? {} : { "content-type": sent.type }),
        },
        ...(sent === undefined ? {} : { body: sent.data }),
      });
    } catch (error) {
      const what = await this.agent.describe(error);
      throw new HonoroitError("UNREACHABLE", `Redmine at ${this.base} is unreachable (${method} ${path}: ${what})`, { cause: error });
    }
    const text = await response.body.text().catch(() => "");
    const status = response.statusCode;
    if (status >= 200 && status < 300) return text.trim() === "" ? {} : (JSON.parse(text) as unknown);
    if (status === 429 || status === 503) throw new HonoroitError("BUSY", `Redmine is busy (${status} on ${method} ${path})`);
    if (status >= 500) throw new HonoroitError("UNREACHABLE", `Redmine failed with ${status} on ${method} ${path}`);
    const reasons = errorsOf(text);
    if (status === 422 && reasons.length === 0) throw new EmptyRefusal();
    const detail = reasons.length > 0 ? `: ${reasons.join("; ")}` : "";
    throw new RedmineRefusal(`Redmine refused ${method} ${path} with ${status}${detail}`, status, reasons);
  }
}

/** A JSON body, or a file's bytes. */
type RequestBody = { readonly json: unknown } | { readonly bytes: Uint8Array };

/** A 4xx from Redmine, with the reasons it gave. */
class RedmineRefusal extends RefusedError {
  constructor(
    message: string,
    status: number,
    readonly reasons: readonly string[],
  ) {
    super(message, { status });
  }
}

/** A 422 without reasons: two edits of one issue met. */
class EmptyRefusal extends Error {}

function errorsOf(text: string): string[] {
  try {
    const body = JSON.parse(text) as { errors?: unknown };
    return Array.isArray(body.errors) ? body.errors.map(String) : [];
  } catch {
    return [];
  }
}
