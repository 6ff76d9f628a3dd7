// The tuf-js client as an oracle: refreshes from a TUF repository and optionally downloads one target.
// usage: node tuf-client.mjs --metadata-dir DIR --metadata-url URL [--target-base-url URL --target-dir DIR --target NAME]
// DIR must hold the trusted root.json. Exit 0 = tuf-js accepted everything, 1 = tuf-js refused (the error on stderr),
// 2 = usage.
import { Updater } from 'tuf-js';
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = {};
for (let i = 0; i < args.length; i += 2) {
  if (!args[i].startsWith('--') || i + 1 >= args.length) {
    console.error(`usage: node tuf-client.mjs --metadata-dir DIR --metadata-url URL [--target-base-url URL --target-dir DIR --target NAME]`);
    process.exit(2);
  }
  opt[args[i].slice(2)] = args[i + 1];
}
if (!opt['metadata-dir'] || !opt['metadata-url']) {
  console.error('--metadata-dir and --metadata-url are required');
  process.exit(2);
}
const targetDir = opt['target-dir'] ?? opt['metadata-dir'];
fs.mkdirSync(targetDir, { recursive: true });
const updater = new Updater({
  metadataBaseUrl: opt['metadata-url'],
  targetBaseUrl: opt['target-base-url'],
  metadataDir: opt['metadata-dir'],
  targetDir,
  config: { fetchRetries: 0, fetchTimeout: 30000 },
});
try {
  await updater.refresh();
  if (opt.target) {
    const info = await updater.getTargetInfo(opt.target);
    if (!info) {
      console.error(`target ${opt.target} not found`);
      process.exit(1);
    }
    const path = await updater.downloadTarget(info);
    console.log(`downloaded ${opt.target} -> ${path}`);
  }
  console.log('OK');
  process.exit(0);
} catch (e) {
  console.error(`${e.name}: ${e.message}`);
  process.exit(1);
}
