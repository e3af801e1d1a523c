// Wall time, peak memory, RSS and CPU time of child processes, read from /proc (Linux).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** A /proc/<pid>/status field in kB (VmRSS: resident now; VmHWM: peak resident). */
function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Resident memory of a running process, in MB (NaN when it is gone or /proc is missing). */
export function rssMb(pid: number): number {
  const kb = statusKb(pid, "VmRSS");
  return kb === undefined ? Number.NaN : kb / 1024;
}

let clockTicks: number | undefined;

/** User + system CPU time a running process has used so far, in ms. */
export function cpuMs(pid: number): number {
  clockTicks ??= (() => {
    try {
      return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      return 100;
    }
  })();
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

const GNU_TIME = "/usr/bin/time";

/** How peak memory of a child is measured on this machine, for the report. */
export function peakMemoryMethod(): string {
  return existsSync(GNU_TIME) ? "GNU time %M (max resident set)" : "VmHWM of /proc/<pid>/status, polled";
}

export interface TimedRun {
  readonly wallMs: number;
  /** Peak resident memory, MB. */
  readonly peakMb: number;
  readonly code: number | null;
  readonly stderr: string;
}

/**
 * Runs a command to completion; stdout goes to `stdoutFile` (a file, not a pipe, so that what
 * is measured is the command's own work and its whole output can be checked afterwards).
 */
export async function timedRun(command: string, args: readonly string[], env: NodeJS.ProcessEnv, stdoutFile: string): Promise<TimedRun> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = path.join(tmpdir(), `bench-time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = useTime ? [GNU_TIME, ["-f", "%M", "-o", timeFile, command, ...args]] : [command, [...args]];
  const out = openSync(stdoutFile, "w");
  let peakKb = 0;
  const started = process.hrtime.bigint();
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(file, argv, { env, stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    // Without GNU time, poll the peak while the child lives (it may be missed for very short runs).
    const poll = useTime || child.pid === undefined
      ? undefined
      : setInterval(() => {
          peakKb = Math.max(peakKb, statusKb(child.pid ?? 0, "VmHWM") ?? 0);
        }, 2);
    child.once("error", reject);
    child.once("close", (code) => {
      if (poll !== undefined) clearInterval(poll);
      resolve({ code, stderr });
    });
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  closeSync(out);
  if (useTime) {
    const text = readFileSync(timeFile, "utf8").trim().split("\n");
    peakKb = Number(text[text.length - 1]);
    rmSync(timeFile, { force: true });
  }
  return { wallMs, peakMb: peakKb / 1024, code: result.code, stderr: result.stderr };
}
