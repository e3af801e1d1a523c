// Fetching files from a real Synapse's media repository (test/synapse/start.sh) with the
// authenticated media API, as the Redmine sync does: with the session the bot's login saved,
// and each failure sorted by cause (waited out, or final for the file).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import { failureCause, isHonoroitError, messageOf } from "../../src/core/errors.ts";
import type { Logger, Store } from "../../src/core/ports.ts";
import { loginOnce, savedSession } from "../../src/adapters/matrix/login.ts";
import { MatrixMediaSource, parseMxc } from "../../src/adapters/matrix/media.ts";
import { openStore } from "../../src/adapters/storage/open-store.ts";
import { encryptFile } from "../support/attachments.ts";
import { registerUser, skipUnlessSynapse, uniqueName, type SynapseEnv } from "../support/synapse.ts";

const PASSWORD = "correct horse battery staple";
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const sources: MatrixMediaSource[] = [];
after(async () => {
  for (const s of sources) await s.close();
});

async function memoryStore(): Promise<Store> {
  const store = await openStore({ dialect: "sqlite", dsn: ":memory:" });
  await store.migrate();
  return store;
}

/** Uploads bytes as a person's client does; returns the mxc URI. */
async function upload(hs: SynapseEnv, token: string, data: Uint8Array, name: string): Promise<string> {
  const res = await fetch(`${hs.url}/_matrix/media/v3/upload?filename=${encodeURIComponent(name)}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" }, body: data });
  const body = (await res.json()) as { content_uri?: string };
  assert.ok(res.ok && body.content_uri !== undefined, JSON.stringify(body));
  return body.content_uri;
}

function source(session: () => Promise<{ homeserver: string; accessToken: string } | undefined>): MatrixMediaSource {
  const s = new MatrixMediaSource({ session, timeoutMs: 10_000 });
  sources.push(s);
  return s;
}

describe("media from the homeserver", { timeout: 60_000 }, () => {
  it("downloads a file with the session the bot's login saved (sealed with the data secret), byte for byte", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const sender = await registerUser(hs, uniqueName("sender"), PASSWORD);
    const data = new Uint8Array(randomBytes(300_000));
    const mxc = await upload(hs, sender.accessToken, data, "photo.jpg");

    const bot = uniqueName("bot");
    await registerUser(hs, bot, PASSWORD);
    const store = await memoryStore();
    const media = source(() => savedSession(store.kv, "a data secret"));
    // Before the bot has logged in there is nothing to download with: wait, not final.
    const early = await media.download(mxc, 1_000_000).catch((e: unknown) => e);
    assert.ok(isHonoroitError(early) && failureCause(early) === "not-ready", String(early));

    await loginOnce({ homeserver: hs.url, login: bot, password: PASSWORD, kv: store.kv, logger: quiet, dataSecret: "a data secret" });
    assert.equal(await savedSession(store.kv, undefined), undefined, "a sealed token needs the secret");
    const got = await media.download(mxc, 1_000_000);
    assert.deepEqual(Buffer.from(got), Buffer.from(data));
  });

  it("a file over the limit, a file the homeserver does not have and a bad mxc are final; a token it does not know waits", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const user = await registerUser(hs, uniqueName("sender"), PASSWORD);
    const mxc = await upload(hs, user.accessToken, new Uint8Array(randomBytes(5_000)), "five.bin");
    const session = { homeserver: hs.url, accessToken: user.accessToken };
    const media = source(() => Promise.resolve(session));

    const cause = async (what: Promise<unknown>): Promise<string> => {
      const error = await what.then(() => undefined, (e: unknown) => e);
      assert.ok(error !== undefined, "it should have failed");
      return `${failureCause(error)}: ${messageOf(error)}`;
    };
    assert.match(await cause(media.download(mxc, 4_999)), /^final: the file has more than 4999 bytes/);
    assert.equal((await media.download(mxc, 5_000)).byteLength, 5_000);
    const { server } = parseMxc(mxc);
    assert.match(await cause(media.download(`mxc://${server}/NoSuchMediaHere`, 5_000)), /^final: the homeserver refused mxc:\/\/.*\/NoSuchMediaHere \(M_NOT_FOUND/);
    assert.match(await cause(media.download("mxc://nowhere", 5_000)), /^final: "mxc:\/\/nowhere" is not a media URI/);
    const stale = source(() => Promise.resolve({ ...session, accessToken: "syt_not_a_token" }));
    assert.match(await cause(stale.download(mxc, 5_000)), /^not-ready: .*M_UNKNOWN_TOKEN/);
    const down = source(() => Promise.resolve({ ...session, homeserver: "http://127.0.0.1:9" }));
    assert.match(await cause(down.download(mxc, 5_000)), /^unavailable: the homeserver is unreachable/);
  });

  it("decrypts a file sent in an encrypted room with its keys, refuses one that does not match them, and uploads as the bot", async (t) => {
    const hs = skipUnlessSynapse(t);
    if (hs === undefined) return;
    const user = await registerUser(hs, uniqueName("sender"), PASSWORD);
    const plain = Buffer.from(randomBytes(70_000));
    const { ciphertext, keys } = encryptFile(plain);
    const mxc = await upload(hs, user.accessToken, ciphertext, "secret.bin");
    const media = source(() => Promise.resolve({ homeserver: hs.url, accessToken: user.accessToken }));

    assert.deepEqual(Buffer.from(await media.download(mxc, 100_000, keys)), plain);
    const tampered = await upload(hs, user.accessToken, Buffer.concat([ciphertext, Buffer.from("x")]), "tampered.bin");
    const error = await media.download(tampered, 100_000, keys).then(() => undefined, (e: unknown) => e);
    assert.equal(failureCause(error), "final");
    assert.match(messageOf(error), /^the file does not decrypt with its keys/);

    const again = await media.upload(plain, "application/octet-stream", "plain.bin");
    assert.deepEqual(Buffer.from(await media.download(again, 100_000)), plain);
  });
});
