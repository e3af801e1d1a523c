import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authMethod } from "../../src/config/cross-field-rules.ts";
import { load, problemFor } from "./load-fixture.ts";

describe("loadConfig cross-field rules", () => {
  it("warns when several login methods are set and names the one used", async () => {
    const r = await load(undefined, { HONOROIT_LOGIN: "@bot:example.com", HONOROIT_PASSWORD: "p", HONOROIT_SHAREDSECRET: "s" });
    assert.deepEqual(r.errors, []);
    assert.equal(authMethod(r.config), "sharedSecret");
    const w = problemFor(r.warnings, "sharedSecret");
    assert.equal(w.message, "sharedSecret, password are all set; sharedSecret is used and the others are ignored");
  });

  it("requires a full Matrix ID with a shared secret", async () => {
    const r = await load(undefined, { HONOROIT_LOGIN: "bot", HONOROIT_SHAREDSECRET: "s" });
    const p = problemFor(r.errors, "login");
    assert.equal(p.source, "env HONOROIT_LOGIN");
    assert.match(p.message, /must be a full Matrix ID/);
  });

  it("accepts a localpart or a full Matrix ID with a password", async () => {
    for (const login of ["bot", "@bot:example.com"]) {
      const r = await load(undefined, { HONOROIT_LOGIN: login, HONOROIT_PASSWORD: "p" });
      assert.deepEqual(r.errors, []);
      assert.equal(authMethod(r.config), "password");
    }
  });

  it("needs both metrics login and password", async () => {
    const r = await load({ metrics: { login: "prom" } });
    assert.match(problemFor(r.errors, "metrics.password").message, /required when metrics\.login is set/);
    const r2 = await load({ metrics: { password: "x" } });
    assert.match(problemFor(r2.errors, "metrics.login").message, /required when metrics\.password is set/);
  });

  it("needs host, apiKey and project once any Redmine key is set", async () => {
    const r = await load({ redmine: { trackerId: 2 } });
    assert.deepEqual(r.errors.map((e) => e.key).sort(), ["redmine.apiKey", "redmine.host", "redmine.project"]);
    assert.match(problemFor(r.errors, "redmine.host").message, /because redmine\.trackerId is set \(HONOROIT_REDMINE_HOST\)/);
    const full = await load({ redmine: { host: "https://redmine.example.com/", apiKey: "k", project: "support" } });
    assert.deepEqual(full.errors, []);
    assert.equal(full.config.redmine.host, "https://redmine.example.com");
  });
});
