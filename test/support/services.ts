import type { TestContext } from "node:test";

/** True when running under CI, where a missing service is a failure rather than a skip. */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  return env["CI"] === "true";
}

/**
 * What a test does about an external service it needs (PostgreSQL, Synapse, Redmine…).
 * `problem` is undefined when the service is there: returns true and the test goes on.
 * Otherwise, under CI (`CI=true`) it throws, failing the test with the problem; elsewhere it
 * skips the test with the problem as the reason and returns false.
 *
 *     if (!requireService(t, "PostgreSQL", pgProblem)) return;
 */
export function requireService(t: TestContext, service: string, problem: string | undefined): boolean {
  if (problem === undefined) return true;
  if (isCI()) {
    throw new Error(`${service} is required when CI=true, but it is not available: ${problem}`);
  }
  t.skip(`${service} not reachable: ${problem}`);
  return false;
}

/** Runs a reachability check; resolves to undefined when it passes, else to why it failed. */
export async function probeService(check: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
