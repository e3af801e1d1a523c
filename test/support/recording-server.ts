// A local HTTP server that records every request it gets (method, path, headers, body) and
// answers with a status the test chooses: plays healthchecks.io's ping API and Sentry's
// ingestion endpoint.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  /** The status every request is answered with. */
  status = 200;
  /** Extra response headers (e.g. Retry-After). */
  headers: Record<string, string> = {};
  url = "";
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        this.requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(this.status, { "content-type": "text/plain", ...this.headers }).end(this.status < 300 ? "OK" : "no");
      });
    });
  }

  static async start(): Promise<RecordingServer> {
    const s = new RecordingServer();
    await new Promise<void>((resolve) => s.server.listen(0, "127.0.0.1", resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  /** The requests whose path starts with `prefix`. */
  to(prefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
