#!/usr/bin/env node
// The peer of `certreg bench scale` (docs/SCALE.md): OpenAttestation's own npm package issuing
// the same certificates the registry issues, the way its tooling does it.
//
//   node scripts/peer/openattestation.js FIELDS.jsonl [BATCH_SIZE]
//
// FIELDS.jsonl holds one JSON object per line with the twelve certificate fields (the same
// synthetic values the benchmark pushes through certreg). For every BATCH_SIZE lines (default
// 10,000, the benchmark's checkpoint size) it builds one OpenAttestation v2 document per line,
// calls wrapDocuments on the batch (a salt per field, keccak256 target hash per document, one
// Merkle tree and proof per document) and signDocument on every wrapped document (secp256k1
// signature of the batch's Merkle root, DID key, as the OpenAttestation CLI's `sign` does), then
// verifySignature on every signed document (target hash and Merkle proof; no chain, no DID
// resolution). Batches are dropped once measured, so memory stays at one batch.
//
// It prints one JSON object: counts, seconds (wall, process.hrtime) and CPU seconds
// (process.cpuUsage) per step, documents per second, mean/max document bytes and peak RSS.
"use strict";

const fs = require("fs");
const readline = require("readline");
const oa = require("@govtechsg/open-attestation");
const { Wallet } = require("@ethersproject/wallet");

// Anvil's well-known development key 0 (public test material; holds nothing anywhere).
const PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

function cpuSeconds() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function wallSeconds() {
  return Number(process.hrtime.bigint()) / 1e9;
}

function documentOf(fields, did) {
  return {
    $template: {
      name: "VOCATIONAL_SKILL_CERTIFICATE",
      type: "EMBEDDED_RENDERER",
      url: "https://renderer.example.org",
    },
    issuers: [
      {
        id: did,
        name: fields.organisation_name,
        revocation: { type: "NONE" },
        identityProof: { type: "DNS-DID", location: "example.org", key: `${did}#controller` },
      },
    ],
    recipient: { name: fields.holder_name },
    id: fields.certificate_number,
    ...fields,
  };
}

class Step {
  constructor() {
    this.seconds = 0;
    this.cpu = 0;
  }
  async time(run) {
    const wall = wallSeconds();
    const cpu = cpuSeconds();
    const result = await run();
    this.seconds += wallSeconds() - wall;
    this.cpu += cpuSeconds() - cpu;
    return result;
  }
}

async function main() {
  const [path, batchArg] = process.argv.slice(2);
  if (!path) {
    process.stderr.write("usage: openattestation.js FIELDS.jsonl [BATCH_SIZE]\n");
    process.exit(2);
  }
  const batchSize = Number(batchArg || 10000);
  const wallet = new Wallet(PRIVATE_KEY);
  const did = `did:ethr:${wallet.address}`;
  const key = { public: `${did}#controller`, private: PRIVATE_KEY };
  const algorithm = oa.SUPPORTED_SIGNING_ALGORITHM.Secp256k1VerificationKey2018;
  const wrap = new Step();
  const sign = new Step();
  const verify = new Step();
  const figures = { documents: 0, batches: 0, verified: 0, bytesTotal: 0, bytesMax: 0, proofMax: 0 };

  async function flush(batch) {
    if (!batch.length) return;
    const wrapped = await wrap.time(() => oa.wrapDocuments(batch));
    const signed = await sign.time(async () => {
      const out = [];
      for (const document of wrapped) out.push(await oa.signDocument(document, algorithm, key));
      return out;
    });
    figures.verified += await verify.time(() => signed.filter((d) => oa.verifySignature(d)).length);
    for (const document of signed) {
      const bytes = Buffer.byteLength(JSON.stringify(document));
      figures.bytesTotal += bytes;
      figures.bytesMax = Math.max(figures.bytesMax, bytes);
      figures.proofMax = Math.max(figures.proofMax, document.signature.proof.length);
    }
    figures.documents += batch.length;
    figures.batches += 1;
  }

  const lines = readline.createInterface({ input: fs.createReadStream(path), crlfDelay: Infinity });
  let batch = [];
  for await (const line of lines) {
    if (!line.trim()) continue;
    batch.push(documentOf(JSON.parse(line), did));
    if (batch.length === batchSize) {
      await flush(batch);
      batch = [];
    }
  }
  await flush(batch);

  const seconds = wrap.seconds + sign.seconds;
  const cpu = wrap.cpu + sign.cpu;
  const rate = (count, time) => (time > 0 ? Math.round((count / time) * 10) / 10 : null);
  const round = (x) => Math.round(x * 1000) / 1000;
  process.stdout.write(
    JSON.stringify({
      name: "@govtechsg/open-attestation",
      version: require("@govtechsg/open-attestation/package.json").version,
      node: process.version,
      documents: figures.documents,
      batches: figures.batches,
      batch_size: batchSize,
      verified: figures.verified,
      wrap_seconds: round(wrap.seconds),
      sign_seconds: round(sign.seconds),
      verify_seconds: round(verify.seconds),
      seconds: round(seconds),
      cpu_seconds: round(cpu),
      documents_per_s: rate(figures.documents, seconds),
      documents_per_cpu_s: rate(figures.documents, cpu),
      verifications_per_s: rate(figures.verified, verify.seconds),
      document_bytes_mean: figures.documents ? Math.round(figures.bytesTotal / figures.documents) : 0,
      document_bytes_max: figures.bytesMax,
      proof_length_max: figures.proofMax,
      peak_rss_mb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    }) + "\n",
  );
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
