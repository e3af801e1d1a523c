// Files from the homeserver's media repository, with the bot's access token: the
// authenticated media API (GET /_matrix/client/v1/media/download/{serverName}/{mediaId},
// Matrix 1.11), or the older unauthenticated /_matrix/media/v3 one on a homeserver that does
// not know it; files sent in encrypted rooms decrypted with their keys. Uploads go to
// /_matrix/media/v3/upload. Uses undici directly (the SDK's HTTP client reads JSON, not bytes).
import type { Dispatcher } from "undici";
import { LazyAgent } from "../http/lazy-agent.ts";
import { HonoroitError, RefusedError } from "../../core/errors.ts";
import type { MediaSource } from "../../core/ports/media.ts";

/** Where to download from, as the bot. */
export interface MediaSession {
  readonly homeserver: string;
  readonly accessToken: string;
}

export interface MatrixMediaOptions {
  /**
   * The bot's session, asked at each download (a new login replaces the token); undefined
   * while the bot has not logged in yet.
   */
  readonly session: () => Promise<MediaSession | undefined>;
  /** Per request, default 60 s. */
  readonly timeoutMs?: number;
}

/** `mxc://server/media-id` in parts; anything else is refused. */
export function parseMxc(mxc: string): { server: string; mediaId: string } {
  const match = /^mxc:\/\/([^/?#]+)\/([A-Za-z0-9_-]+)$/.exec(mxc);
  if (match?.[1] === undefined || match[2] === undefined) throw new RefusedError(`"${mxc}" is not a media URI (mxc://server/id)`, {});
  return { server: match[1], mediaId: match[2] };
}

/** The homeserver's media repository as a MediaSource. */
export class MatrixMediaSource implements MediaSource {
  private readonly agent: LazyAgent;

  constructor(private readonly options: MatrixMediaOptions) {
    const timeout = options.timeoutMs ?? 60_000;
    this.agent = new LazyAgent({ connectTimeout: timeout, headersTimeout: timeout, bodyTimeout: timeout, connections: 2 });
  }

  async download(mxc: string, maxBytes: number, encryption?: Readonly<Record<string, unknown>>): Promise<Uint8Array> {
    const bytes = await this.fetchFile(mxc, maxBytes);
    if (encryption === undefined) return bytes;
    // Loaded only for an encrypted file: the crypto module is sizeable.
    return (await import("../crypto/attachment.ts")).decryptAttachment(bytes, encryption);
  }

  /** Uploads a file as the bot; returns its `mxc://` URI. */
  async upload(bytes: Uint8Array, contentType: string, filename: string | undefined): Promise<string> {
    const session = await this.requireSession();
    const query = filename === undefined ? "" : `?filename=${encodeURIComponent(filename)}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request(`${session.homeserver.replace(/\/+$/, "")}/_matrix/media/v3/upload${query}`, {
        method: "POST",
        headers: { authorization: `Bearer ${session.accessToken}`, "content-type": contentType },
        body: bytes,
      });
    } catch (error) {
      const what = await this.agent.describe(error);
      throw new HonoroitError("UNREACHABLE", `the homeserver is unreachable for a file upload (${what})`, { cause: error });
    }
    const text = await response.body.text().catch(() => "");
    if (response.statusCode !== 200) throw failure({ kind: "error", status: response.statusCode, ...matrixError(text) }, "the upload");
    let uri: unknown;
    try {
      uri = (JSON.parse(text) as { content_uri?: unknown }).content_uri;
    } catch {
      uri = undefined;
    }
    if (typeof uri !== "string" || !uri.startsWith("mxc://")) throw new HonoroitError("UNREACHABLE", "the homeserver answered a file upload without a content_uri");
    return uri;
  }

  private async requireSession(): Promise<MediaSession> {
    const session = await this.options.session();
    if (session === undefined) throw new HonoroitError("NOT_READY", "the bot has not logged in to Matrix yet, so it cannot fetch or send files");
    return session;
  }

  private async fetchFile(mxc: string, maxBytes: number): Promise<Uint8Array> {
    const { server, mediaId } = parseMxc(mxc);
    const session = await this.requireSession();
    const id = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
    const base = session.homeserver.replace(/\/+$/, "");
    const answer = await this.get(`${base}/_matrix/client/v1/media/download/${id}`, session.accessToken, maxBytes);
    if (answer.kind === "bytes") return answer.bytes;
    // A homeserver from before authenticated media does not know the endpoint.
    if (answer.errcode === "M_UNRECOGNIZED" && (answer.status === 404 || answer.status === 405)) {
      const legacy = await this.get(`${base}/_matrix/media/v3/download/${id}`, session.accessToken, maxBytes);
      if (legacy.kind === "bytes") return legacy.bytes;
      throw failure(legacy, mxc);
    }
    throw failure(answer, mxc);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async get(url: string, token: string, maxBytes: number): Promise<Answer> {
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request(url, { method: "GET", headers: { authorization: `Bearer ${token}` } });
    } catch (error) {
      const what = await this.agent.describe(error);
      throw new HonoroitError("UNREACHABLE", `the homeserver is unreachable for a file download (${what})`, { cause: error });
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => "");
      return { kind: "error", status: response.statusCode, ...matrixError(text) };
    }
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      // Not read: the connection is dropped (its abort is expected, not an error to report).
      response.body.on("error", () => undefined);
      response.body.destroy();
      throw tooLarge(declared, maxBytes);
    }
    const chunks: Buffer[] = [];
    let length = 0;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        length += chunk.byteLength;
        // Leaving the loop destroys the body.
        if (length > maxBytes) throw tooLarge(length, maxBytes);
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof HonoroitError) throw error;
      throw new HonoroitError("UNREACHABLE", `a file download from the homeserver broke off (${String(error)})`, { cause: error });
    }
    return { kind: "bytes", bytes: new Uint8Array(Buffer.concat(chunks, length)) };
  }
}

type Answer = { readonly kind: "bytes"; readonly bytes: Uint8Array } | { readonly kind: "error"; readonly status: number; readonly errcode: string | undefined; readonly error: string | undefined };

function matrixError(text: string): { errcode: string | undefined; error: string | undefined } {
  try {
    const body = JSON.parse(text) as { errcode?: unknown; error?: unknown };
    return { errcode: typeof body.errcode === "string" ? body.errcode : undefined, error: typeof body.error === "string" ? body.error : undefined };
  } catch {
    return { errcode: undefined, error: undefined };
  }
}

function tooLarge(bytes: number, maxBytes: number): HonoroitError {
  return new HonoroitError("BAD_DATA", `the file has more than ${maxBytes} bytes (${bytes})`);
}

/** A failed download, sorted by cause (see failureCause): waited out, or final for the file. */
function failure(answer: Extract<Answer, { kind: "error" }>, mxc: string): Error {
  const { status, errcode } = answer;
  const said = `${errcode ?? `HTTP ${status}`}${answer.error === undefined ? "" : `: ${answer.error}`}`;
  if (status === 429) return new HonoroitError("BUSY", `the homeserver rate-limits file downloads (${said})`);
  // Uploaded asynchronously and not there yet.
  if (errcode === "M_NOT_YET_UPLOADED") return new HonoroitError("NOT_READY", `${mxc} is not uploaded yet (${said})`);
  // Too large for the homeserver to fetch from its origin: it never will be.
  if (errcode === "M_TOO_LARGE") return new RefusedError(`${mxc} is too large for the homeserver (${said})`, { errcode, status });
  if (status >= 500) return new HonoroitError("UNREACHABLE", `the homeserver failed a file download with ${status} (${said})`);
  // A 401 (a token replaced by a new login) waits, as failureCause has it; a 404 is final.
  return new RefusedError(`the homeserver refused ${mxc} (${said})`, { errcode, status });
}
