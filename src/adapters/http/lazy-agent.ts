// undici, loaded when the first request needs it: importing it takes about 0.2 s, and serve's
// start (which may never download a file or talk to Redmine) should not wait for that.
import type { Agent, Dispatcher } from "undici";

type Undici = typeof import("undici");

/** A connection pool made on first use, with the request function and error class to go with it. */
export class LazyAgent {
  private made: Promise<{ readonly undici: Undici; readonly agent: Agent }> | undefined;

  constructor(private readonly options: Agent.Options) {}

  /** Sends a request through the pool; what it throws is undici's error, for `describe`. */
  async request(url: string, options: Omit<Dispatcher.RequestOptions, "origin" | "path" | "dispatcher"> & { method: Dispatcher.HttpMethod }): Promise<Dispatcher.ResponseData> {
    const { undici, agent } = await this.pool();
    return undici.request(url, { ...options, dispatcher: agent });
  }

  /** undici's message for one of its own errors, else the error as text. */
  async describe(error: unknown): Promise<string> {
    const { undici } = await this.pool();
    return error instanceof undici.errors.UndiciError ? error.message : String(error);
  }

  async close(): Promise<void> {
    if (this.made !== undefined) await (await this.made).agent.close();
  }

  private pool(): Promise<{ readonly undici: Undici; readonly agent: Agent }> {
    this.made ??= import("undici").then((undici) => ({ undici, agent: new undici.Agent(this.options) }));
    return this.made;
  }
}
