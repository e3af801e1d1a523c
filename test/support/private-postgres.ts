// A PostgreSQL server of a test's own (initdb into a temporary folder, trust auth, a free port),
// so that a test may restart it without touching the machine's shared one. Needs root (to run
// it as the `postgres` user) and Debian's PostgreSQL binaries.
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./serve-process.ts";

export interface PrivatePostgres {
  /** A `postgres://` URL of the database `honoroit` on it. */
  readonly dsn: string;
  /** Stops it (fast shutdown: connections are cut), waits `downMs`, starts it again. */
  restart(downMs: number): Promise<void>;
  stop(): void;
}

/** Why a private PostgreSQL cannot run here, or undefined when it can. */
export function privatePostgresProblem(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to run PostgreSQL as the postgres user";
  return binDir() === undefined ? "no PostgreSQL server binaries under /usr/lib/postgresql" : undefined;
}

function binDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, "bin", "pg_ctl"))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], "bin");
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  if (bin === undefined) throw new Error("no PostgreSQL server binaries");
  const dir = mkdtempSync(path.join(tmpdir(), "honoroit-pg-"));
  const data = path.join(dir, "data");
  const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
  chownSync(dir, uid, gid);
  const asPostgres = (cmd: string, args: string[]): void => {
    execFileSync("runuser", ["-u", "postgres", "--", path.join(bin, cmd), ...args], { stdio: "ignore" });
  };
  const port = await freePort();
  asPostgres("initdb", ["-D", data, "--auth=trust", "-U", "postgres"]);
  const pgCtl = (action: string, extra: string[] = []): void => {
    asPostgres("pg_ctl", ["-D", data, "-l", path.join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, ...extra, action]);
  };
  pgCtl("start");
  asPostgres("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "honoroit"]);
  return {
    dsn: `postgres://postgres@127.0.0.1:${port}/honoroit`,
    async restart(downMs) {
      pgCtl("stop", ["-m", "fast"]);
      await new Promise((r) => setTimeout(r, downMs));
      pgCtl("start");
    },
    stop() {
      try {
        pgCtl("stop", ["-m", "immediate"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
