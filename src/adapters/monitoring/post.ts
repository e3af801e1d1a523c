// The one HTTP call both monitoring adapters make: a POST that answers whether it went through
// and, when not, why in a line fit for the log. It never throws.
import { messageOf } from "../../core/errors.ts";

export type PostResult = { readonly ok: true } | { readonly ok: false; readonly problem: string; readonly response?: Response };

/** POSTs `body`; `ok` when the server answered 2xx within `timeoutMs` (and before `signal` fired). */
export async function post(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal?: AbortSignal): Promise<PostResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, { method: "POST", body, headers, signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) });
    await response.body?.cancel();
    return response.ok ? { ok: true } : { ok: false, problem: `HTTP ${response.status}`, response };
  } catch (error) {
    // fetch says only "fetch failed"; the reason (connection refused, a timeout) is its cause.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return { ok: false, problem: `${messageOf(error)}${cause}` };
  }
}
