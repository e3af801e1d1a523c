// Runs the real `honoroit` binary (bin/honoroit → dist/) as a child process for end-to-end tests.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { waitFor } from "./synapse.ts";

export const BIN = fileURLToPath(new URL("../../bin/honoroit", import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The environment for a child: the machine's, minus any HONOROIT_* variable, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("HONOROIT_")) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs `honoroit ARGS` to completion. */
export function runCli(args: readonly string[], env: Record<string, string>, cwd?: string, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(env), ...(cwd === undefined ? {} : { cwd }), stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A running `honoroit serve`. */
export class ServeProcess {
  output = "";
  exitCode: number | null | undefined = undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code) => {
        this.exitCode = code;
        resolve();
      });
    });
  }

  /** Starts `honoroit serve`; with `waitUntilServing`, resolves once it logged "serving". */
  static async start(env: Record<string, string>, opts: { waitUntilServing?: boolean; timeoutMs?: number; args?: readonly string[] } = {}): Promise<ServeProcess> {
    const child = spawn(process.execPath, [BIN, "serve", ...(opts.args ?? [])], { env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    const proc = new ServeProcess(child);
    if (opts.waitUntilServing ?? true) {
      await waitFor(() => {
        if (proc.exitCode !== undefined) throw new Error(`honoroit serve exited with ${String(proc.exitCode)}:\n${proc.output}`);
        return proc.output.includes(" serving ") ? true : undefined;
      }, { what: "honoroit serve to log in and start serving", timeoutMs: opts.timeoutMs ?? 30_000 });
    }
    return proc;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a signal without waiting (e.g. SIGSTOP to freeze the process, SIGCONT to thaw it). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitCode === undefined) this.child.kill(signal);
  }

  /** `/_health` as the process answers it now. */
  async health(port: number): Promise<{ status: number; body: { status: string; checks?: Record<string, { ok: boolean; detail?: string }> } }> {
    const res = await fetch(`http://127.0.0.1:${port}/_health`);
    return { status: res.status, body: (await res.json()) as { status: string; checks?: Record<string, { ok: boolean; detail?: string }> } };
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null | undefined> {
    if (this.exitCode === undefined) this.child.kill(signal);
    await this.exited;
    return this.exitCode;
  }
}
