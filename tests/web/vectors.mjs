// Runs the JavaScript verifier (api/static/js/) over the vectors the Python core passes:
// tests/vectors/{commitments,signatures,bundles}.json and tests/vectors/tlog/ (inclusion and
// consistency). The same module runs in Node (run_vectors_node.mjs) and in headless Chromium
// (runner.html), fed one payload built by tests/web/conftest.py (tlog integers as decimal strings,
// since they reach 2^64 - 1).

import { fromHex, toHex } from '../../api/static/js/bytes.js';
import { commitmentOf, fieldHashes } from '../../api/static/js/commitment.js';
import { parseBundle } from '../../api/static/js/formats.js';
import { verifyConsistency, verifyInclusion } from '../../api/static/js/merkle.js';
import { signingMessage, verifySignature } from '../../api/static/js/signatures.js';
import { MAX_SNAPSHOT_BYTES, parseJson } from '../../api/static/js/safejson.js';
import { parseTrustRootFile, verifyTrustRoots } from '../../api/static/js/trust.js';
import { trustFromSnapshot, verifyBundle, verifyBundleText } from '../../api/static/js/verify.js';

function fromBase64(text) {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function parsedFields(json) {
  // Reuse the bundle reader's field rules by wrapping the fields in a minimal shape.
  const out = {};
  for (const [name, f] of Object.entries(json)) {
    out[name] = 'hash' in f ? { redacted: true, hash: fromHex(f.hash) } : { redacted: false, value: f.value, salt: fromHex(f.salt) };
  }
  return out;
}

async function commitmentCase(test) {
  const hashes = await fieldHashes(parsedFields(test.input.fields));
  const commitment = toHex(await commitmentOf(Object.values(hashes)));
  if (test.result === 'valid') {
    const want = test.expected;
    const got = Object.fromEntries(Object.entries(hashes).map(([k, v]) => [k, toHex(v)]));
    for (const [name, h] of Object.entries(want.field_hashes)) {
      if (got[name] !== h) return `field hash of ${name} differs`;
    }
    return commitment === want.commitment ? null : 'commitment differs';
  }
  return commitment !== test.input.commitment ? null : 'invalid fields reproduce the commitment';
}

async function signatureCase(test) {
  const input = test.input;
  const message = fromHex(input.message);
  let ok = true;
  let expectedMessage;
  try {
    expectedMessage = toHex(signingMessage(BigInt(input.chain_id), fromHex(input.contract), fromHex(input.commitment)));
  } catch {
    expectedMessage = null;
  }
  if (expectedMessage !== input.message) ok = false;
  try {
    await verifySignature(test.suite, fromHex(input.public_key), message, fromHex(input.signature));
  } catch {
    ok = false;
  }
  const want = test.result === 'valid';
  return ok === want ? null : `verifier says ${ok ? 'valid' : 'invalid'}`;
}

async function bundleCase(test, snapshots) {
  const trust = trustFromSnapshot(snapshots[test.input.snapshot]);
  const result =
    'compact' in test.input
      ? await verifyBundleText(test.input.compact, trust, test.input.at)
      : await verifyBundle(test.input.bundle, trust, test.input.at);
  return result.result === test.result ? null : `got ${result.result}: ${JSON.stringify(result.checks.filter((c) => c.passed === false))}`;
}

function hostileText(pieces) {
  return pieces.map(([piece, count]) => String(piece).repeat(count)).join('');
}

/** tests/vectors/hostile.json: MALFORMED with the same rule id as the Python core. */
async function hostileCase(test, snapshots) {
  const text = hostileText(test.pieces);
  if (test.kind === 'bundle_text') {
    const result = await verifyBundleText(text, trustFromSnapshot(snapshots.main), 1900000000);
    if (result.result !== test.result) return `got ${result.result}`;
    const detail = result.checks[0].detail;
    return detail.includes(`[${test.rule}]`) ? null : `detail ${detail}`;
  }
  try {
    trustFromSnapshot(parseJson(text, 'snapshot', 'json.syntax', { maxBytes: MAX_SNAPSHOT_BYTES }));
  } catch (exc) {
    return exc.rule === test.rule ? null : `rule ${exc.rule}: ${exc.message}`;
  }
  return 'accepted';
}

/** tests/vectors/trust.json root_tests: the current serial, or the rule broken. */
async function trustRootCase(test, trust) {
  const roots = parseTrustRootFile(trust.trust_roots[test.file]);
  const pinned = test.pinned === null ? null : parseTrustRootFile(trust.trust_roots[test.pinned[0]])[test.pinned[1]].body;
  try {
    const current = await verifyTrustRoots(roots, pinned);
    return test.result === 'valid' && current.serial === test.serial ? null : `accepted, serial ${current.serial}`;
  } catch (exc) {
    return test.result === 'invalid' && exc.rule === test.rule ? null : `rule ${exc.rule}: ${exc.message}`;
  }
}

/** tests/vectors/trust.json tests: the code, the basis and the dispute kinds of the Python core. */
async function trustCase(test, trust) {
  const given = test.input;
  const source = given.snapshot === null ? null : trustFromSnapshot(trust.snapshots[given.snapshot]);
  const root = given.root ? await verifyTrustRoots(parseTrustRootFile(trust.trust_roots.chain)) : null;
  const options = { root, maxAge: given.max_age };
  const result =
    'compact' in given
      ? await verifyBundleText(given.compact, source, given.at, options)
      : await verifyBundle(given.bundle, source, given.at, options);
  const kinds = result.disputes.map((d) => d.kind).join();
  if (result.result !== test.result) {
    return `got ${result.result}: ${JSON.stringify(result.checks.filter((c) => c.passed === false))}`;
  }
  if (kinds !== test.disputes.join()) return `disputes ${kinds}`;
  return result.basis === test.basis ? null : `basis ${result.basis}`;
}

async function tlogCase(item) {
  const c = item.case;
  const proof = (c.proof ?? []).map(fromBase64);
  let error = null;
  try {
    if (item.kind === 'inclusion') {
      await verifyInclusion(fromBase64(c.leafHash), BigInt(c.leafIdx), BigInt(c.treeSize), proof, fromBase64(c.root));
    } else {
      await verifyConsistency(BigInt(c.size1), BigInt(c.size2), proof, fromBase64(c.root1), fromBase64(c.root2));
    }
  } catch (exc) {
    error = exc;
  }
  return (error !== null) === c.wantErr ? null : `wantErr ${c.wantErr}, got ${error ? error.message : 'no error'}`;
}

/** Run every vector; returns {group: {passed, failed, failures: [{id, reason}]}}. */
export async function runVectors(payload) {
  const groups = {
    commitments: [payload.commitments.tests, (t) => commitmentCase(t)],
    signatures: [payload.signatures.tests, (t) => signatureCase(t)],
    bundles: [payload.bundles.tests, (t) => bundleCase(t, payload.bundles.snapshots)],
    bundles_v2: [payload.bundles_v2.tests, (t) => bundleCase(t, payload.bundles_v2.snapshots)],
    hostile: [payload.hostile.tests, (t) => hostileCase(t, payload.bundles.snapshots)],
    tlog: [payload.tlog, (t) => tlogCase(t)],
    trust: [payload.trust.tests, (t) => trustCase(t, payload.trust)],
    trust_roots: [payload.trust.root_tests, (t) => trustRootCase(t, payload.trust)],
  };
  const out = {};
  for (const [group, [tests, run]] of Object.entries(groups)) {
    const summary = { passed: 0, failed: 0, failures: [] };
    for (const test of tests) {
      let reason;
      try {
        reason = await run(test);
      } catch (exc) {
        reason = `threw ${exc.name}: ${exc.message}`;
      }
      if (reason === null) summary.passed += 1;
      else {
        summary.failed += 1;
        summary.failures.push({ id: test.id ?? test.name, reason });
      }
    }
    out[group] = summary;
  }
  return out;
}

export { parseBundle };
