import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after } from "node:test";
import { loadConfig } from "../../src/config/load.ts";
import type { LoadResult } from "../../src/config/load.ts";
import type { Problem } from "../../src/config/problem.ts";

// Shared by the loadConfig tests: temp folders (removed after the file's tests), config files, and finding a problem.

const made: string[] = [];
after(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "honoroit-config-"));
  made.push(dir);
  return dir;
}

export async function writeJson(dir: string, name: string, content: unknown): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

/** Loads from a fresh temp folder holding `honoroit.config.json` (when given), with only `env`. */
export async function load(
  file: unknown,
  env: NodeJS.ProcessEnv = {},
  flags: Record<string, unknown> = {},
): Promise<LoadResult & { dir: string; configPath: string }> {
  const dir = await tempDir();
  const configPath = path.join(dir, "honoroit.config.json");
  if (file !== undefined) await writeJson(dir, "honoroit.config.json", file);
  return { ...(await loadConfig({ cwd: dir, env, flags })), dir, configPath };
}

export function problemFor(problems: readonly Problem[], key: string): Problem {
  const found = problems.find((p) => p.key === key);
  assert.ok(found, `expected a problem for ${key}, got ${JSON.stringify(problems, null, 2)}`);
  return found;
}
