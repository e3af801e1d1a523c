// Regenerates the committed example config and the README's generated sections (config
// reference, chat commands, chat options) from the code:
//   npx tsx test/config/write-example.ts
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderExampleConfig } from "../../src/config/example.ts";
import { regenerateReadme } from "../../src/docs/readme.ts";

const root = path.resolve(import.meta.dirname, "../..");

const examplePath = path.join(root, "honoroit.config.example.json");
writeFileSync(examplePath, renderExampleConfig());
console.log(`wrote ${path.relative(root, examplePath)}`);

const readmePath = path.join(root, "README.md");
if (existsSync(readmePath)) {
  const { readme, missing } = regenerateReadme(readFileSync(readmePath, "utf8"));
  writeFileSync(readmePath, readme);
  console.log("updated the generated sections of README.md");
  for (const name of missing) console.log(`README.md has no <!-- ${name}:start --> … <!-- ${name}:end --> markers; that section was not written`);
} else {
  console.log("no README.md; sections not written");
}
