import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it } from "node:test";
import { sharedSecretToken } from "../../src/adapters/matrix/login.ts";

describe("sharedSecretToken", () => {
  it("is the hex HMAC-SHA512 of the full MXID keyed by the secret", () => {
    // Known answer computed independently (Python, as the Synapse module computes it: hmac.new(secret, user_id, sha512).hexdigest()).
    assert.equal(
      sharedSecretToken("@bot:example.com", "s3cret"),
      createHmac("sha512", Buffer.from("s3cret", "utf8")).update(Buffer.from("@bot:example.com", "utf8")).digest("hex"),
    );
    assert.equal(
      sharedSecretToken("@bot:example.com", "s3cret"),
      "ada7127b14a5ee4999e502eced1529b3490721a4dfd45d2244ac7fc045816fb4761bf26fb7e9a6d0b0b9df46fc543e9152c4e45ce74cff37c93b8b2030b22f2c",
    );
  });

  it("is 128 lowercase hex characters and depends on user and secret", () => {
    const token = sharedSecretToken("@bot:example.com", "s3cret");
    assert.match(token, /^[0-9a-f]{128}$/);
    assert.notEqual(sharedSecretToken("@bot2:example.com", "s3cret"), token);
    assert.notEqual(sharedSecretToken("@bot:example.com", "other"), token);
  });

  it("hashes UTF-8", () => {
    assert.equal(
      sharedSecretToken("@bøt:example.com", "sécret"),
      createHmac("sha512", Buffer.from("sécret", "utf8")).update(Buffer.from("@bøt:example.com", "utf8")).digest("hex"),
    );
  });
});
