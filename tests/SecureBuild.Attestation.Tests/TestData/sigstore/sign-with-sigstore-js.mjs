#!/usr/bin/env node
// sign-with-sigstore-js.mjs -- makes a keyless Sigstore bundle with sigstore-js (@sigstore/sign), for tests: the
// bundles SecureBuild must verify as another Sigstore client writes them.
//
// Usage: node sign-with-sigstore-js.mjs --url URL --token JWT (--dsse PAYLOAD_FILE [--payload-type T] | --blob FILE)
//        [--tsa] -o BUNDLE
//   --url     base URL of Fulcio and Rekor (the local stand-in serves both; --tsa adds its timestamp authority)
//   --dsse    sign the file as a DSSE payload (default type application/vnd.in-toto+json), logged as a dsse entry
//   --blob    sign the file's bytes (message signature), logged as a hashedrekord entry
// Exit 0 and the bundle written, or exit 1 with the error on stderr.
import { readFileSync, writeFileSync } from 'node:fs';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, FulcioSigner, MessageSignatureBundleBuilder, RekorWitness, TSAWitness } from '@sigstore/sign';

const args = process.argv.slice(2);
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const url = opt('--url');
const token = opt('--token');
const out = opt('-o');
try {
  if (!url || !token || !out || (!opt('--dsse') === !opt('--blob'))) throw new Error('usage: --url URL --token JWT (--dsse FILE | --blob FILE) -o BUNDLE');
  const signer = new FulcioSigner({ fulcioBaseURL: url, identityProvider: { getToken: async () => token } });
  const witnesses = [new RekorWitness({ rekorBaseURL: url, entryType: 'dsse' })];
  if (args.includes('--tsa')) witnesses.push(new TSAWitness({ tsaBaseURL: url }));
  const bundle = opt('--dsse')
    ? await new DSSEBundleBuilder({ signer, witnesses }).create({ data: readFileSync(opt('--dsse')), type: opt('--payload-type') ?? 'application/vnd.in-toto+json' })
    : await new MessageSignatureBundleBuilder({ signer, witnesses }).create({ data: readFileSync(opt('--blob')) });
  writeFileSync(out, JSON.stringify(bundleToJSON(bundle), null, 2) + '\n');
} catch (e) {
  console.error(`sign-with-sigstore-js: ${e && e.message ? e.message : e}`);
  process.exitCode = 1;
}
