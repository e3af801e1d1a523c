// SIGTERM at any moment stops serve cleanly: here before the first login, while the homeserver
// does not answer and login keeps retrying (a unit restarted during a homeserver outage).
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { ServeProcess } from "../support/serve-process.ts";
import { waitFor } from "../support/synapse.ts";

describe("honoroit serve and SIGTERM", () => {
  it("stops with exit code 0 while login is still waiting for the homeserver", async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), "honoroit-sigterm-"));
    const serve = await ServeProcess.start(
      { HONOROIT_HOMESERVER: "http://127.0.0.1:1", HONOROIT_LOGIN: "honoroit", HONOROIT_PASSWORD: "x", HONOROIT_ROOMID: "!ops:example.com", HONOROIT_DB_DSN: path.join(dir, "honoroit.db"), HONOROIT_PORT: "0" },
      { waitUntilServing: false },
    );
    t.after(() => serve.stop("SIGKILL"));
    await waitFor(() => (serve.output.includes("homeserver unreachable, retrying") ? true : undefined), { what: "login to retry", timeoutMs: 20_000 });
    assert.equal(await serve.stop("SIGTERM"), 0, serve.output);
    assert.match(serve.output, /stopping signal=SIGTERM/);
    assert.doesNotMatch(serve.output, /internal error/);
  });
});
