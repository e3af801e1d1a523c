import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { CHAT_COMMANDS } from "../../src/chat/commands.ts";
import { OPTION_TABLE } from "../../src/core/options.ts";
import { README_SECTIONS, regenerateReadme, REGENERATE_DOCS, renderChatCommands, renderChatOptions } from "../../src/docs/readme.ts";

const readme = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");

describe("README", () => {
  it("has every generated section, up to date with the code", () => {
    const { readme: regenerated, missing } = regenerateReadme(readme);
    assert.deepEqual(missing, [], `add the markers for these sections, then run ${REGENERATE_DOCS}`);
    for (const section of README_SECTIONS) {
      const start = `<!-- ${section.name}:start -->`;
      const inReadme = readme.slice(readme.indexOf(start), readme.indexOf(`<!-- ${section.name}:end -->`));
      const fresh = regenerated.slice(regenerated.indexOf(start), regenerated.indexOf(`<!-- ${section.name}:end -->`));
      assert.equal(inReadme, fresh, `the ${section.name} section of README.md is stale; run ${REGENERATE_DOCS}`);
    }
  });

  it("lists every chat command and every option", () => {
    const commands = renderChatCommands();
    for (const c of CHAT_COMMANDS) assert.ok(commands.includes(`\`!ho ${c.usage}\``), c.name);
    const options = renderChatOptions();
    for (const o of OPTION_TABLE) assert.ok(options.includes(`| \`${o.key}\` |`), o.key);
    assert.equal(OPTION_TABLE.length, 21, "the Go bot's 19 options plus autoclose.after and power.level");
  });

  it("states the Node.js versions package.json's engines accept", () => {
    const pkg = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")) as { engines: { node: string } };
    const versions = pkg.engines.node.split("||").map((range) => range.trim().replace(/^[\^>=]+/, "").replace(/\.0$/, "").replace(/\.0$/, ""));
    assert.ok(versions.length > 0);
    const line = readme.slice(readme.indexOf("Requires Node.js"), readme.indexOf("## Set up and run"));
    for (const v of versions) assert.match(line, new RegExp(`\\b${v.replaceAll(".", "\\.")}\\b`), `README's "Requires Node.js" names ${v} (engines: ${pkg.engines.node})`);
  });

  it("states the two set-up commands", () => {
    assert.match(readme, /```sh\nnpm install && npx honoroit init && npx honoroit serve\n```/);
    assert.match(readme, /```sh\nbash \.ci\/run\n```/);
  });
});
