// Validates AsyncAPI documents with the official parser (@asyncapi/parser, pinned in package-lock.json):
// `node tools/asyncapi/validate.mjs docs/asyncapi.yaml [more ...]`. Prints every diagnostic as
// `<file>:<line>: <severity> <rule>: <message> at <path>` and one verdict line per file; exits 1 when any file has
// an error or a warning (the document is generated, so a warning is a defect of its generator), 2 on bad usage.
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const SEVERITY = { [DiagnosticSeverity.Error]: "error", [DiagnosticSeverity.Warning]: "warning",
  [DiagnosticSeverity.Information]: "info", [DiagnosticSeverity.Hint]: "hint" };

async function validate(parser, path) {
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    console.error(`${path}: cannot be read: ${error.message}`);
    return false;
  }
  const { document, diagnostics } = await parser.parse(text, { source: path });
  for (const d of diagnostics) {
    const line = d.range ? d.range.start.line + 1 : 0;
    console.error(`${path}:${line}: ${SEVERITY[d.severity]} ${d.code}: ${d.message} at /${(d.path || []).join("/")}`);
  }
  const failing = diagnostics.filter((d) => d.severity <= DiagnosticSeverity.Warning).length;
  if (document === undefined || failing > 0) {
    console.error(`${path}: not a valid AsyncAPI document (${failing} errors or warnings)`);
    return false;
  }
  console.log(`${path}: valid AsyncAPI ${document.version()}, ${document.channels().length} channels, `
    + `${document.operations().length} operations, ${document.messages().length} messages`);
  return true;
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error("usage: node validate.mjs <asyncapi document> [more ...]");
  process.exit(2);
}
const parser = new Parser();
let valid = true;
for (const path of paths) {
  valid = (await validate(parser, path)) && valid;
}
process.exit(valid ? 0 : 1);
