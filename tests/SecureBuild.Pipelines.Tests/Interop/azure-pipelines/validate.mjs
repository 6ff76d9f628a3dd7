// Validates Azure Pipelines YAML against Microsoft's published schema (service-schema.json from
// microsoft/azure-pipelines-vscode, descriptions stripped; see NOTICE.md). Usage: node validate.mjs [--json] FILE...
// Exit 0 all valid, 1 some invalid, 2 usage. YAML is read as YAML 1.1 like the Azure DevOps service would not care
// for the keys used here; duplicate keys are errors.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import YAML from "yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes("--json");
const files = args.filter(a => !a.startsWith("--"));
if (files.length === 0) {
  console.error("usage: node validate.mjs [--json] FILE...");
  process.exit(2);
}
const schema = JSON.parse(fs.readFileSync(path.join(here, "service-schema.json"), "utf8"));
const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false, unicodeRegExp: false, coerceTypes: true });
const validate = ajv.compile(schema);
const report = [];
for (const file of files) {
  const errors = [];
  let doc;
  try {
    const parsed = YAML.parseDocument(fs.readFileSync(file, "utf8"), { uniqueKeys: true });
    for (const e of parsed.errors) errors.push({ layer: "yaml", path: "", message: e.message });
    doc = parsed.toJS();
  } catch (e) {
    errors.push({ layer: "yaml", path: "", message: String(e.message ?? e) });
  }
  if (errors.length === 0 && !validate(doc)) {
    for (const e of validate.errors ?? []) errors.push({ layer: "schema", path: e.instancePath, message: e.message });
  }
  report.push({ file, valid: errors.length === 0, errors });
}
if (json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  for (const r of report) {
    console.log(`${r.valid ? "OK" : "INVALID"} ${r.file}`);
    for (const e of r.errors) console.log(`  [${e.layer}] ${e.path}: ${e.message}`);
  }
}
process.exit(report.every(r => r.valid) ? 0 : 1);
