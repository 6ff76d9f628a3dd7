#!/usr/bin/env node
// local-sigstore-mock-server.mjs -- a LOCAL STAND-IN for Sigstore's Fulcio, Rekor (v1) and a timestamp authority,
// for tests only. It is not Sigstore: the certificate authority, the logs and the TSA are @sigstore/mock's, with
// throw-away keys made at start-up; the OIDC token is decoded, NOT verified; the log is a one-leaf tree per entry.
// Based on the project's shared interop server, with three changes so it behaves like real Rekor where clients
// depend on it:
//   * dsse entries are stored in Rekor's canonical form (envelopeHash, payloadHash, signatures[{signature, verifier}])
//     instead of verbatim, so DSSE bundles made against it verify (sigstore-js and SecureBuild check that form);
//   * a second upload of the same entry is refused with 409 Conflict and a Location header naming the existing entry;
//   * GET /api/v1/log/entries/{uuid} returns a stored entry.
// Test hooks: --fail-next-uploads N answers the next N uploads with 503 (nothing stored); --log-clock-offset S sets the
// log's clock S seconds ahead, fixed at start-up (integrated times then fall outside the 10-minute certificates).
//
// Usage: node local-sigstore-mock-server.mjs [--port P] [--exit-after SECONDS] [--subject-claim CLAIM] [--fail-next-uploads N]
//        [--log-clock-offset SECONDS]
//   Prints one JSON line on stdout: {"url":"http://127.0.0.1:PORT", ...}, then serves on 127.0.0.1 until killed,
//   until stdin closes (so a test runner that dies takes it along), or until --exit-after SECONDS elapses.
//   POST /api/v2/signingCert     Fulcio v2 (JSON); SAN = token "sub" (or --subject-claim), issuer extension = "iss".
//   POST /api/v1/log/entries     Rekor v1 create entry (hashedrekord/dsse/intoto JSON): 201, or 409 for a duplicate.
//   GET  /api/v1/log/entries/ID  Rekor v1 get entry.
//   POST /api/v1/timestamp       Sigstore TSA JSON request; DER RFC 3161 TimeStampResp out.
//   GET  /trusted_root.json      the trusted root for the keys above.
import http from 'node:http';
import { generateKeyPairSync, createHash } from 'node:crypto';
import {
  initializeCA, initializeCTLog, initializeTLog, initializeTSA,
  fulcioHandler, tsaHandler,
} from '@sigstore/mock';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const exitAfter = Number(opt('--exit-after', 0));
const subjectClaim = opt('--subject-claim', 'sub');
const logClockOffset = Number(opt('--log-clock-offset', 0)); // seconds the log's clock runs ahead (a test of signing times)
const port = Number(opt('--port', 0));
let failUploads = Number(opt('--fail-next-uploads', 0));

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (b) => Buffer.from(b.buffer ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : b).toString('base64');
const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

// Rekor's canonical form of a proposed entry (what it stores and what clients find in the body).
function canonicalEntry(proposed) {
  if (proposed?.kind === 'dsse' && proposed?.spec?.proposedContent) {
    const { envelope, verifiers } = proposed.spec.proposedContent;
    const env = JSON.parse(envelope);
    if (!Array.isArray(verifiers) || verifiers.length !== 1 || !Array.isArray(env.signatures) || env.signatures.length !== 1) {
      throw new Error('dsse: expected exactly one verifier and one signature');
    }
    return {
      apiVersion: proposed.apiVersion,
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: sha256hex(Buffer.from(envelope, 'utf8')) },
        payloadHash: { algorithm: 'sha256', value: sha256hex(Buffer.from(env.payload, 'base64')) },
        signatures: [{ signature: env.signatures[0].sig, verifier: verifiers[0] }],
      },
    };
  }
  return proposed;
}

const server = http.createServer();
server.listen(port, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const [caKey, ctKey, rekorKey, tsaKey] = [ec(), ec(), ec(), ec()];
  const ctlog = await initializeCTLog(ctKey);
  const ca = await initializeCA(caKey, ctlog);
  const tlog = await initializeTLog(url, rekorKey, logClockOffset ? new Date(Date.now() + logClockOffset * 1000) : undefined);
  const tsa = await initializeTSA(tsaKey);
  // @sigstore/mock stamps genTime with milliseconds, which DER writes without trailing zeros (.12Z, .5Z); sigstore-js
  // parses only three-digit fractions ('invalid time'), so about one timestamp in ten would not verify there. Whole seconds.
  tsa.getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  const fulcio = fulcioHandler(ca, { subjectClaim });
  const timestamp = tsaHandler(tsa);
  const entries = new Map(); // uuid -> response JSON text
  const byBody = new Map(); // sha256(canonical proposed entry) -> uuid
  const start = '2020-01-01T00:00:00Z';
  const spki = (k) => k.publicKey.export({ type: 'spki', format: 'der' });
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki(rekorKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(createHash('sha256').update(spki(rekorKey)).digest()) } }],
    certificateAuthorities: [{ subject: { organization: 'mock', commonName: 'mock-fulcio' }, uri: url,
      certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] }, validFor: { start } }],
    ctlogs: [{ baseUrl: url, hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(ctlog.logID) } }],
    timestampAuthorities: [{ subject: { organization: 'mock', commonName: 'mock-tsa' }, uri: url,
      certChain: { certificates: [{ rawBytes: b64(tsa.intCertificate) }, { rawBytes: b64(tsa.rootCertificate) }] },
      validFor: { start } }],
  };

  async function upload(text, res) {
    if (failUploads > 0) {
      failUploads--;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 503, message: 'stand-in: upload failure requested by --fail-next-uploads' }));
      return;
    }
    let canonical;
    try {
      canonical = canonicalEntry(JSON.parse(text));
    } catch (e) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 400, message: String(e.message) }));
      return;
    }
    const key = sha256hex(JSON.stringify(canonical));
    const existing = byBody.get(key);
    if (existing) {
      res.writeHead(409, { 'Content-Type': 'application/json', Location: `/api/v1/log/entries/${existing}` });
      res.end(JSON.stringify({ code: 409, message: `an equivalent entry already exists in the transparency log with UUID ${existing}` }));
      return;
    }
    const entry = await tlog.log(canonical);
    const uuid = Object.keys(entry)[0];
    const body = JSON.stringify(entry);
    entries.set(uuid, body);
    byBody.set(key, uuid);
    res.writeHead(201, { 'Content-Type': 'application/json', Location: `/api/v1/log/entries/${uuid}` });
    res.end(body);
  }

  server.on('request', (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const path = req.url.split('?')[0];
        const text = Buffer.concat(chunks).toString('utf8');
        if (req.method === 'GET' && path === '/trusted_root.json') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(trustedRoot, null, 2));
        } else if (req.method === 'POST' && path === '/api/v1/log/entries') {
          await upload(text, res);
        } else if (req.method === 'GET' && path.startsWith('/api/v1/log/entries/')) {
          const found = entries.get(path.split('/').pop());
          res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' });
          res.end(found ?? JSON.stringify({ code: 404, message: 'no such entry' }));
        } else if (req.method === 'POST' && (path === fulcio.path || path === timestamp.path)) {
          const out = await (path === fulcio.path ? fulcio : timestamp).fn(text);
          res.writeHead(out.statusCode, { 'Content-Type': out.contentType || 'text/plain' });
          res.end(typeof out.response === 'string' ? out.response : Buffer.from(out.response.buffer, out.response.byteOffset, out.response.byteLength));
        } else {
          res.writeHead(404);
          res.end();
        }
      } catch (e) {
        res.writeHead(500);
        res.end(String(e && e.message));
      }
    });
  });
  console.log(JSON.stringify({ url, endpoints: [fulcio.path, '/api/v1/log/entries', timestamp.path, '/trusted_root.json'] }));
  if (exitAfter > 0) setTimeout(() => process.exit(0), exitAfter * 1000).unref();
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
});
