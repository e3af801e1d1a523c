import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { BlockList, isIP, type AddressInfo } from "node:net";
import { HonoroitError } from "../../core/errors.ts";
import type { Logger } from "../../core/ports.ts";
import type { PromMetrics } from "./metrics.ts";

/** What `/_health` reports: `degraded` (HTTP 503) when a dependency is unreachable. */
export interface HealthReport {
  readonly status: "ok" | "degraded" | "standby";
  /** e.g. `homeserver`, `database`, each with a short reason when not ok. */
  readonly checks: Readonly<Record<string, { readonly ok: boolean; readonly detail?: string }>>;
}

export interface HttpServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Interface to listen on; default: all interfaces. */
  readonly host?: string;
  readonly metrics: PromMetrics;
  readonly health: () => HealthReport | Promise<HealthReport>;
  /** Basic auth for `/metrics`. */
  readonly auth?: { readonly login: string; readonly password: string };
  /** IPs and CIDRs (v4 and v6) allowed to read `/metrics`; empty or absent allows everyone. */
  readonly allowedIps?: readonly string[];
  readonly logger: Logger;
}

export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Where it listens, as a person should read it: `127.0.0.1:8080 (this machine only)`. */
  readonly listening: string;
  close(): Promise<void>;
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `::ffff:10.0.0.1` → `10.0.0.1`, so IPv4 rules apply to IPv4 clients of a dual-stack socket. */
function unmapV4(address: string): string {
  return MAPPED_V4.exec(address)?.[1] ?? address;
}

/**
 * Builds the allow list; a bad entry is a BAD_CONFIG error naming it. Returns undefined when
 * every client is allowed.
 */
export function buildAllowList(entries: readonly string[]): BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [addressPart = "", prefixPart, extra] = entry.trim().split("/");
    const mapped = MAPPED_V4.test(addressPart);
    const address = unmapV4(addressPart);
    const family = isIP(address);
    const bad = (): HonoroitError =>
      new HonoroitError("BAD_CONFIG", `metrics IP allow list: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
    if (family === 0 || extra !== undefined) throw bad();
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefixPart === undefined) {
      list.addAddress(address, type);
      continue;
    }
    if (!/^\d{1,3}$/.test(prefixPart)) throw bad();
    // A prefix on a mapped address counts the 96 bits of `::ffff:` too.
    const prefix = Number(prefixPart) - (mapped ? 96 : 0);
    if (prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw bad();
    list.addSubnet(address, prefix, type);
  }
  return list;
}

function isAllowed(list: BlockList | undefined, remote: string | undefined): boolean {
  if (list === undefined) return true;
  if (remote === undefined) return false;
  const address = unmapV4(remote);
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? "ipv4" : "ipv6");
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Compares in constant time whatever the lengths (both sides are hashed first). */
function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function isAuthorized(auth: HttpServerOptions["auth"], header: string | undefined): boolean {
  if (auth === undefined) return true;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  const decoded = Buffer.from(m?.[1] ?? "", "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const login = colon < 0 ? "" : decoded.slice(0, colon);
  const password = colon < 0 ? "" : decoded.slice(colon + 1);
  // Both comparisons always run, so the timing does not tell which part was wrong.
  const loginOk = sameSecret(login, auth.login);
  const passwordOk = sameSecret(password, auth.password);
  return m !== null && colon >= 0 && loginOk && passwordOk;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...headers });
  res.end(text + "\n");
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Serves `/_health` (for monitoring) and `/metrics` (Prometheus, behind the optional IP list and basic auth). */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { metrics, health, auth, logger } = options;
  const allowList = buildAllowList(options.allowedIps ?? []);

  const routes: Readonly<Record<string, Handler>> = {
    "/_health": async (_req, res) => {
      let report: HealthReport;
      try {
        report = await health();
      } catch (error) {
        logger.error("health check failed", { error });
        report = { status: "degraded", checks: { health: { ok: false, detail: "the health check itself failed" } } };
      }
      const degraded = report.status !== "ok" || Object.values(report.checks).some((c) => !c.ok);
      if (degraded) sendJson(res, 503, { status: report.status === "ok" ? "degraded" : report.status, checks: report.checks });
      else sendJson(res, 200, { status: "ok" });
    },
    "/metrics": async (req, res) => {
      if (!isAllowed(allowList, req.socket.remoteAddress)) {
        sendText(res, 403, "forbidden");
        return;
      }
      if (!isAuthorized(auth, req.headers.authorization)) {
        sendText(res, 401, "unauthorized", { "WWW-Authenticate": 'Basic realm="honoroit metrics", charset="UTF-8"' });
        return;
      }
      const { contentType, body } = await metrics.render();
      res.writeHead(200, { "Content-Type": contentType, "Cache-Control": "no-store" });
      res.end(body);
    },
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route === undefined) {
      sendText(res, 404, "not found");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "method not allowed", { Allow: "GET, HEAD" });
      return;
    }
    route(req, res).catch((error: unknown) => {
      logger.error("http request failed", { path, error });
      if (!res.headersSent) sendText(res, 500, "internal error");
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const where = `${options.host ?? "*"}:${options.port}`;
      reject(new HonoroitError("BAD_CONFIG", `cannot listen for HTTP on ${where}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => logger.error("http server error", { error }));

  const address = server.address() as AddressInfo;
  const url = baseUrl(address);
  return {
    url,
    listening: describeAddress(address),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        // Keep-alive connections would hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}

function describeAddress(address: AddressInfo): string {
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const reach = address.address === "::" || address.address === "0.0.0.0" ? "every interface" : isLoopback(address.address) ? "this machine only" : "this address only";
  return `${host}:${address.port} (${reach})`;
}

function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip === "::ffff:127.0.0.1";
}

function baseUrl(address: AddressInfo): string {
  // An unspecified address accepts loopback, which is what a local client (or a test) can reach.
  if (address.address === "::" || address.address === "0.0.0.0") return `http://127.0.0.1:${address.port}`;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
