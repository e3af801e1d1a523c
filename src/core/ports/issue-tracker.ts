// The issue tracker (Redmine) as the core sees it: issues for tickets, notes both ways,
// three statuses. The adapter maps the statuses to the configured ids and sorts its failures
// by cause (see failureCause): down or busy is retried, a refusal is final.

/** Where a ticket stands, as the tracker is told: waiting for an operator, for the customer, or done. */
export type TrackerStatus = "new" | "in-progress" | "done";

/** An issue as the poll sees it. */
export interface TrackerIssue {
  readonly id: number;
  /** Closed in the tracker: a closed status, or the configured done status. */
  readonly closed: boolean;
  /** When it last changed (whole seconds). */
  readonly updatedOn: Date;
}

/** A note (journal entry) on an issue. */
export interface TrackerNote {
  readonly id: number;
  readonly authorId: number;
  readonly author: string;
  /** "" for a change without words (a status change). */
  readonly text: string;
  /** Private notes are for operators only. */
  readonly private: boolean;
}

/** An issue with its notes, oldest first. */
export interface TrackerIssueDetail extends TrackerIssue {
  readonly notes: readonly TrackerNote[];
}

/** The tracker's user the bot acts as. */
export interface TrackerUser {
  readonly id: number;
  readonly login: string;
}

/** A file uploaded to the tracker, to be attached by the next change of an issue. */
export interface TrackerAttachment {
  /** What the upload answered; it attaches once, so each attempt at a change uploads anew. */
  readonly token: string;
  readonly filename: string;
  readonly contentType?: string;
}

/** What a change of an issue writes: a note, files attached with it, a status. */
export interface TrackerChange {
  readonly note?: string;
  readonly attachments?: readonly TrackerAttachment[];
  readonly status?: TrackerStatus;
}

/** Creates and changes issues; each call is one request or a few (a change is read back). */
export interface IssueTracker {
  /** The API key's user; a key the tracker does not know is refused (401), never anonymous. */
  currentUser(): Promise<TrackerUser>;
  /** Creates an issue in the configured project, tracker and "new" status; returns its id. */
  createIssue(subject: string, description: string): Promise<number>;
  /** One of the bot's newest issues in the project whose description contains `marker`, if any. */
  findIssue(marker: string): Promise<number | undefined>;
  /** Adds a note (with files) and/or sets a status; a status the tracker silently ignored is an error. */
  updateIssue(id: number, change: TrackerChange): Promise<void>;
  /**
   * Uploads a file for the next change to attach; returns its token. A file the tracker will
   * not take (too large, a type it refuses, no permission) is a refusal (final) with its reason.
   */
  upload(filename: string, bytes: Uint8Array): Promise<string>;
  issue(id: number): Promise<TrackerIssueDetail>;
  /**
   * Issues of the project changed at or after `since` (open and closed), in one request per
   * 100. The tracker may also return some changed up to a second earlier.
   */
  updatedSince(since: Date): Promise<TrackerIssue[]>;
}

/** What the sync reports for /metrics and /_health. */
export interface TrackerMetrics {
  /** A request to the tracker failed, by cause (unavailable, busy, not-ready, final). */
  trackerError(cause: string): void;
  /** A poll finished; its time is the sync's freshness. */
  trackerPolled(at: Date): void;
}
