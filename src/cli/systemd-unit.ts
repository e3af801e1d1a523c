// The systemd unit `init` prints (or writes with --systemd): the binary run directly, not
// through npx, which does not pass signals on and adds a second process.
import { pathToFileURL } from "node:url";

export interface UnitOptions {
  /** The Node.js that runs the binary. */
  readonly node: string;
  /** The `honoroit` binary. */
  readonly bin: string;
  readonly config: string;
  /** Where the config and a SQLite database live: the only place it may write. */
  readonly dir: string;
  /** This package's README, when it is on disk: the unit's documentation. */
  readonly readme?: string | undefined;
}

/**
 * The environment the unit gives serve, for a flat memory: one malloc arena (glibc's
 * per-thread arenas kept native memory V8's worker threads had freed) and a small young
 * generation (V8 grows it under a burst of messages and keeps it). Measured in the bench:
 * after 1,000 encrypted messages serve's RSS grew 1.12× with these and 1.44× without, and the
 * messages went through no slower.
 */
export const UNIT_ENVIRONMENT: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "1", NODE_OPTIONS: "--max-semi-space-size=2" };

/**
 * A hardened unit. `Type=simple`: readiness would need sd_notify over a Unix datagram socket,
 * which Node cannot send without a native module; /_health tells readiness instead.
 */
export function systemdUnit(o: UnitOptions): string {
  const quote = (s: string): string => (/[\s"\\]/.test(s) ? `"${s.replace(/(["\\])/g, "\\$1")}"` : s);
  return `[Unit]
Description=Honoroit, a Matrix helpdesk bot
${o.readme === undefined ? "" : `Documentation=${pathToFileURL(o.readme).href}\n`}Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=${[o.node, o.bin, "--config", o.config, "serve"].map(quote).join(" ")}
WorkingDirectory=${quote(o.dir)}
# A flat memory: one malloc arena and a small young generation (without them, serve's
# memory grew by about half after 1,000 encrypted messages, and no faster).
${Object.entries(UNIT_ENVIRONMENT).map(([k, v]) => `Environment=${k}=${v}\n`).join("")}# SIGTERM: in-flight relays finish, then it exits 0.
KillSignal=SIGTERM
TimeoutStopSec=20
Restart=on-failure
RestartSec=5
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=read-only
ReadWritePaths=${quote(o.dir)}
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectControlGroups=true
RestrictSUIDSGID=true
LockPersonality=true
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
UMask=0077

[Install]
WantedBy=multi-user.target
`;
}
