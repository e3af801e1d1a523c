// An HTTP proxy in front of the homeserver that can misbehave on purpose: answer 502 for a
// while, or delay every answer. What passes through is the real homeserver's answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export class FaultyHttpProxy {
  /** Until this time (ms since epoch), every request gets a 502. */
  failUntil = 0;
  /** Added before each answer. */
  delayMs = 0;
  /** Requests answered with a 502, and passed through. */
  failed = 0;
  passed = 0;

  private readonly server: Server;
  url = "";

  private constructor(private readonly target: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(target: string): Promise<FaultyHttpProxy> {
    const proxy = new FaultyHttpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (Date.now() < this.failUntil) {
      this.failed += 1;
      res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway (on purpose)");
      return;
    }
    this.passed += 1;
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "connection" && k !== "content-length") headers.set(k, v);
    try {
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(new URL(req.url ?? "/", this.target), { method: req.method ?? "GET", headers, ...(body === undefined ? {} : { body }) });
      const out = Buffer.from(await answer.arrayBuffer());
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(out);
    } catch {
      res.writeHead(502).end();
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
