// Regenerates the committed example config and the README's config reference from the schema:
//   npx tsx test/config/write-example.ts
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderExampleConfig, spliceConfigReference, REFERENCE_END, REFERENCE_START } from "../../src/config/example.ts";

const root = path.resolve(import.meta.dirname, "../..");

const examplePath = path.join(root, "honoroit.config.example.json");
writeFileSync(examplePath, renderExampleConfig());
console.log(`wrote ${path.relative(root, examplePath)}`);

const readmePath = path.join(root, "README.md");
if (existsSync(readmePath)) {
  const spliced = spliceConfigReference(readFileSync(readmePath, "utf8"));
  if (spliced === undefined) {
    console.log(`README.md has no ${REFERENCE_START} … ${REFERENCE_END} markers; reference not written`);
  } else {
    writeFileSync(readmePath, spliced);
    console.log("updated the config reference in README.md");
  }
} else {
  console.log("no README.md; reference not written");
}
