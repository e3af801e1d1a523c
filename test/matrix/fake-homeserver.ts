// A scripted stand-in for a homeserver, for the failures a real Synapse will not produce on
// demand (429, 502, dropped connections). Each request is recorded and answered by `route`.
import { createServer } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRequest {
  readonly method: string;
  /** Path after `/_matrix/client/v3`, decoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: Record<string, unknown> | undefined;
  readonly authorization: string | undefined;
}

/** A JSON answer; `drop` closes the connection without one (a network error). */
export type FakeResponse = { readonly status: number; readonly json?: unknown } | { readonly drop: true };

export class FakeHomeserver {
  readonly requests: FakeRequest[] = [];
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(route: (req: FakeRequest, fake: FakeHomeserver) => FakeResponse | Promise<FakeResponse>): Promise<FakeHomeserver> {
    const holder: { fake?: FakeHomeserver } = {};
    const server = createServer((req, res) => {
      void (async () => {
        const request = await readRequest(req);
        const fake = holder.fake;
        if (fake === undefined) throw new Error("not started");
        fake.requests.push(request);
        const answer = await route(request, fake);
        if ("drop" in answer) {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { "content-type": "application/json" });
        res.end(JSON.stringify(answer.json ?? {}));
      })();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeHomeserver(server, `http://127.0.0.1:${port}`);
    holder.fake = fake;
    return fake;
  }

  /** Requests to a path (exact match), in order. */
  to(path: string): FakeRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function readRequest(req: IncomingMessage): Promise<FakeRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const url = new URL(req.url ?? "/", "http://fake");
  return {
    method: req.method ?? "GET",
    path: decodeURIComponent(url.pathname.replace(/^\/_matrix\/client\/v3/, "")),
    query: url.searchParams,
    body: text === "" ? undefined : (JSON.parse(text) as Record<string, unknown>),
    authorization: req.headers.authorization,
  };
}

/** A standard Matrix error answer. */
export function matrixError(status: number, errcode: string, error: string, extra: Record<string, unknown> = {}): FakeResponse {
  return { status, json: { errcode, error, ...extra } };
}
