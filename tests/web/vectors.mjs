// Runs the JavaScript verifier (api/static/js/) over the vectors the Python core passes:
// tests/vectors/{commitments,signatures,bundles}.json and tests/vectors/tlog/ (inclusion and
// consistency). The same module runs in Node (run_vectors_node.mjs) and in headless Chromium
// (runner.html), fed one payload built by tests/web/conftest.py (tlog integers as decimal strings,
// since they reach 2^64 - 1).

import { fromHex, toHex } from '../../api/static/js/bytes.js';
import { commitmentOf, fieldHashes } from '../../api/static/js/commitment.js';
import { parseBundle } from '../../api/static/js/formats.js';
import { VerificationFailed, leafHash, nodeHash, verifyConsistency, verifyInclusion } from '../../api/static/js/merkle.js';
import { signingMessage, sm2Z, verifySignature } from '../../api/static/js/signatures.js';
import { sm3 } from '../../api/static/js/hash.js';
import { MAX_SNAPSHOT_BYTES, parseJson } from '../../api/static/js/safejson.js';
import { parseTrustRootFile, verifyTrustRoots } from '../../api/static/js/trust.js';
import { dayBounds, describeTime, expiryOf, trustFromSnapshot, verifyBundle, verifyBundleText } from '../../api/static/js/verify.js';

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
  return sameOutcome(result, test);
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
  if (kinds !== test.disputes.join()) return `disputes ${kinds}, result ${result.result}`;
  return sameOutcome(result, test);
}

// tests/vectors/time.json: the day arithmetic and time texts, function by function.
function timeCases(data) {
  return [
    ...data.day_bounds.map((t) => ({ id: `day_bounds ${t.day}`, kind: 'day', test: t })),
    ...data.expiry.map((t) => ({ id: `expiry ${t.type} ${t.issue_date}`, kind: 'expiry', test: t })),
    ...data.describe_time.map((t) => ({ id: `describe_time ${t.seconds}`, kind: 'text', test: t })),
  ];
}

function timeCase({ kind, test }) {
  if (kind === 'day') {
    let got = null;
    try {
      got = dayBounds(test.day);
    } catch {
      got = null;
    }
    return JSON.stringify(got) === JSON.stringify(test.bounds) ? null : `got ${JSON.stringify(got)}`;
  }
  if (kind === 'expiry') {
    const got = expiryOf(test.type, test.issue_date);
    return got === test.expires ? null : `got ${got}`;
  }
  const got = describeTime(test.seconds);
  return got === test.text ? null : `got ${got}`;
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

// tests/vectors/merkle.json: every proof of the trees up to 64 leaves, valid and mutated; the
// mutations as the file's notes define them (tests/merkle_cases.py reads them the same way).
function flip(value, bit) {
  const out = Uint8Array.from(value);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

function mutate(op, a, b, nodes, first, x, n, proof, last) {
  proof = [...proof];
  switch (op) {
    case 'flip': proof[a] = flip(proof[a], b); break;
    case 'flip-leaf': first = flip(first, b); break;
    case 'flip-root': last = flip(last, b); break;
    case 'index': x += a; break;
    case 'size': n += a; break;
    case 'drop-last': proof.pop(); break;
    case 'drop-first': proof.shift(); break;
    case 'append': proof.push(nodes[a]); break;
    case 'prepend': proof.unshift(nodes[a]); break;
    case 'swap': [proof[a], proof[a + 1]] = [proof[a + 1], proof[a]]; break;
    default: throw new Error(`unknown mutation ${op}`);
  }
  return [first, x, n, proof, last];
}

/** Every case of merkle.json as {id, kind, args, want}; args in the verifier's order. */
export function merkleCases(data) {
  const nodes = data.nodes.map(fromHex);
  const leaves = data.leaves.map(fromHex);
  const roots = data.roots.map(fromHex);
  const cases = [];
  const inclusion = data.inclusion.map(([i, n, refs]) => [i, n, refs.map((r) => nodes[r])]);
  const consistency = data.consistency.map(([m, n, refs]) => [m, n, refs.map((r) => nodes[r])]);
  for (const [i, n, proof] of inclusion) {
    cases.push({ id: `inclusion ${i}/${n}`, kind: 'inclusion', args: [leaves[i], i, n, proof, roots[n - 1]], want: true });
  }
  for (const [c, op, a, b, want] of data.inclusion_mutations) {
    const [i, n, proof] = inclusion[c];
    const [leaf, x, size, changed, root] = mutate(op, a, b, nodes, leaves[i], i, n, proof, roots[n - 1]);
    cases.push({ id: `inclusion ${i}/${n} ${op} ${a} ${b}`, kind: 'inclusion', args: [leaf, x, size, changed, root], want: want === 1 });
  }
  for (const [m, n, proof] of consistency) {
    cases.push({ id: `consistency ${m}->${n}`, kind: 'consistency', args: [m, n, proof, roots[m - 1], roots[n - 1]], want: true });
  }
  for (const [c, op, a, b, want] of data.consistency_mutations) {
    const [m, n, proof] = consistency[c];
    const [root1, s1, s2, changed, root2] = mutate(op, a, b, nodes, roots[m - 1], m, n, proof, roots[n - 1]);
    cases.push({ id: `consistency ${m}->${n} ${op} ${a} ${b}`, kind: 'consistency', args: [s1, s2, changed, root1, root2], want: want === 1 });
  }
  return cases;
}

async function merkleCase(item) {
  let accepted = true;
  try {
    if (item.kind === 'inclusion') await verifyInclusion(...item.args);
    else await verifyConsistency(...item.args);
  } catch (exc) {
    if (!(exc instanceof VerificationFailed)) throw exc;
    accepted = false;
  }
  return accepted === item.want ? null : `verifier says ${accepted ? 'valid' : 'invalid'}`;
}

// The arguments verifyInclusion and verifyConsistency refuse before any hashing, each with its own
// message, on a proof that is otherwise valid (two- and three-leaf trees): hashes that are not 32
// bytes, sizes and indices that are negative, fractional, above 2^53 - 1 as a number, or not
// numbers; and the edges that pass (0, 2^53 - 1, BigInts). `want` is the refusal's message, or
// null for a proof that verifies, or another message for a refusal further on.
const SIZE_MESSAGE = 'index and tree sizes must be non-negative integers';

async function argumentCases() {
  const [a, b, c] = await Promise.all([1, 2, 3].map((n) => leafHash(Uint8Array.of(n))));
  const ab = await nodeHash(a, b);
  const abc = await nodeHash(ab, c);
  const short = a.subarray(1);
  const incl = (id, args, want) => ({ id: `inclusion ${id}`, kind: 'inclusion', args, want });
  const cons = (id, args, want) => ({ id: `consistency ${id}`, kind: 'consistency', args, want });
  return [
    incl('valid', [a, 0, 2, [b], ab], null),
    incl('valid, BigInt', [a, 0n, 2n, [b], ab], null),
    incl('31-byte leaf', [short, 0, 1, [], a], 'leaf hash must be a 32-byte hash'),
    incl('leaf not bytes', [Array.from(a), 0, 1, [], a], 'leaf hash must be a 32-byte hash'),
    incl('31-byte root', [a, 0, 1, [], short], 'root must be a 32-byte hash'),
    incl('31-byte proof node', [a, 0, 2, [b.subarray(1)], ab], 'proof node must be a 32-byte hash'),
    incl('index -1', [a, -1, 2, [b], ab], SIZE_MESSAGE),
    incl('index -1n', [a, -1n, 2, [b], ab], SIZE_MESSAGE),
    incl('index 0.5', [a, 0.5, 2, [b], ab], SIZE_MESSAGE),
    incl('index as a string', [a, '0', 2, [b], ab], SIZE_MESSAGE),
    incl('size 2.5', [a, 0, 2.5, [b], ab], SIZE_MESSAGE),
    incl('size 2^53', [a, 0, 2 ** 53, [b], ab], SIZE_MESSAGE),
    incl('index 2^53', [a, 2 ** 53, 2 ** 53 + 2, [b], ab], SIZE_MESSAGE),
    incl('size 2^53 - 1', [a, 0, 2 ** 53 - 1, [b], ab], 'inclusion proof is shorter than the path to the root'),
    incl('index 2', [a, 2, 2, [b], ab], 'leaf index 2 is outside a tree of size 2'),
    cons('valid', [2, 3, [c], ab, abc], null),
    cons('size1 -1', [-1, 3, [c], ab, abc], SIZE_MESSAGE),
    cons('size2 3.5', [2, 3.5, [c], ab, abc], SIZE_MESSAGE),
    cons('size2 2^53', [2, 2 ** 53, [c], ab, abc], SIZE_MESSAGE),
    cons('size1 2^53', [2 ** 53, 2 ** 53 + 2, [c], ab, abc], SIZE_MESSAGE),
    cons('31-byte root1', [2, 3, [c], short, abc], 'root1 must be a 32-byte hash'),
    cons('31-byte root2', [2, 3, [c], ab, abc.subarray(1)], 'root2 must be a 32-byte hash'),
    cons('31-byte proof node', [2, 3, [c.subarray(1)], ab, abc], 'proof node must be a 32-byte hash'),
  ];
}

async function argumentCase(item) {
  let message = null;
  try {
    if (item.kind === 'inclusion') await verifyInclusion(...item.args);
    else await verifyConsistency(...item.args);
  } catch (exc) {
    if (!(exc instanceof VerificationFailed)) throw exc;
    message = exc.message;
  }
  return message === item.want ? null : `refused with ${JSON.stringify(message)}, want ${JSON.stringify(item.want)}`;
}

// tests/vectors/bundle-boundaries.json: the result code, the reason and every computed hash must be
// the Python verifier's.
async function boundaryCase(test, data) {
  const trust = trustFromSnapshot(data.snapshots[test.input.snapshot]);
  const raw = data.bundles[test.input.bundle];
  const result =
    typeof raw === 'string' ? await verifyBundleText(raw, trust, test.input.at) : await verifyBundle(raw, trust, test.input.at);
  return sameOutcome(result, test);
}

/**
 * The result against a vector that pins it (scripts/vector_outcomes.py): the code, and when the
 * vector carries them the reason, validity, block and time it is as of, basis, every check's name,
 * outcome and detail (a failed format check's wording comes from another parser) and the hashes.
 */
function sameOutcome(result, test) {
  if (result.result !== test.result) return `got ${result.result}: ${JSON.stringify(result.checks.filter((c) => c.passed === false))}`;
  for (const key of ['reason', 'valid', 'as_of_block', 'as_of_time', 'basis']) {
    if (key in test && result[key] !== test[key]) return `${key} ${result[key]}, want ${test[key]}`;
  }
  // Keys sorted: WebDriver hands the expected checks to Chromium with their keys reordered.
  const checks = (list) =>
    JSON.stringify(sortKeys(list.map((c) => (c.name === 'format' && c.passed === false ? { ...c, detail: '' } : c))));
  if ('checks' in test && checks(result.checks) !== checks(test.checks)) return `checks ${JSON.stringify(result.checks)}`;
  if (!('hashes' in test)) return null;
  const got = JSON.stringify(sortKeys(result.hashes));
  const want = JSON.stringify(sortKeys(test.hashes));
  return got === want ? null : `hashes ${got}, want ${want}`;
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
}

// tests/vectors/sm-kat.json: published SM3 and SM2 examples.
function smCases(data) {
  const cases = data.sm3.map((t, n) => ({ id: `sm3 ${n + 1}`, kind: 'sm3', test: t }));
  cases.push({ id: 'sm2 Z and e', kind: 'sm2-z', test: data.sm2 });
  cases.push({ id: 'sm2 signature', kind: 'sm2', test: data.sm2, want: true });
  cases.push({ id: 'sm2 signature, r bit flipped', kind: 'sm2', test: data.sm2, flip: 0, want: false });
  cases.push({ id: 'sm2 signature, s bit flipped', kind: 'sm2', test: data.sm2, flip: 63, want: false });
  cases.push({ id: 'sm2 other message', kind: 'sm2', test: { ...data.sm2, message: '6d65737361676520646967657374ff' }, want: false });
  return cases;
}

async function smCase(item) {
  const t = item.test;
  if (item.kind === 'sm3') return toHex(sm3(fromHex(t.message))) === t.digest ? null : 'SM3 digest differs';
  const publicKey = fromHex(t.public_key);
  if (item.kind === 'sm2-z') {
    const z = sm2Z(publicKey, fromHex(t.user_id));
    if (toHex(z) !== t.z) return `Z ${toHex(z)}`;
    const e = sm3(new Uint8Array([...z, ...fromHex(t.message)]));
    return toHex(e) === t.e ? null : `e ${toHex(e)}`;
  }
  const signature = fromHex(t.signature);
  if (item.flip !== undefined) signature[item.flip] ^= 1;
  let ok = true;
  try {
    // The example's user ID is the default one, 1234567812345678.
    await verifySignature('sm2-sm3', publicKey, fromHex(t.message), signature);
  } catch (exc) {
    if (!(exc instanceof VerificationFailed)) throw exc;
    ok = false;
  }
  return ok === item.want ? null : `verifier says ${ok ? 'valid' : 'invalid'}`;
}

/**
 * Run every vector (or the groups named in ``only``; with ``failFast``, up to the first failure);
 * returns {group: {passed, failed, failures: [{id, reason}]}}.
 */
export async function runVectors(payload, { only = null, failFast = false } = {}) {
  const groups = {
    commitments: [payload.commitments.tests, (t) => commitmentCase(t)],
    signatures: [payload.signatures.tests, (t) => signatureCase(t)],
    bundles: [payload.bundles.tests, (t) => bundleCase(t, payload.bundles.snapshots)],
    bundles_v2: [payload.bundles_v2.tests, (t) => bundleCase(t, payload.bundles_v2.snapshots)],
    bundles_maintenance: [
      payload.bundles_maintenance.tests,
      (t) => bundleCase(t, payload.bundles_maintenance.snapshots),
    ],
    hostile: [payload.hostile.tests, (t) => hostileCase(t, payload.bundles.snapshots)],
    tlog: [payload.tlog, (t) => tlogCase(t)],
    trust: [payload.trust.tests, (t) => trustCase(t, payload.trust)],
    trust_roots: [payload.trust.root_tests, (t) => trustRootCase(t, payload.trust)],
  };
  if (payload.boundaries) groups.boundaries = [payload.boundaries.tests, (t) => boundaryCase(t, payload.boundaries)];
  if (payload.sm) groups.sm = [smCases(payload.sm), (t) => smCase(t)];
  if (payload.merkle) groups.merkle = [merkleCases(payload.merkle), (t) => merkleCase(t)];
  if (payload.time) groups.time = [timeCases(payload.time), (t) => timeCase(t)];
  groups.arguments = [await argumentCases(), (t) => argumentCase(t)];
  const out = {};
  let stop = false;
  for (const [group, [tests, run]] of Object.entries(groups)) {
    if (only && !only.includes(group)) continue;
    const summary = { passed: 0, failed: 0, failures: [] };
    out[group] = summary;
    for (const test of tests) {
      if (stop) break;
      let reason;
      try {
        reason = await run(test);
      } catch (exc) {
        reason = `threw ${exc.name}: ${exc.message}`;
      }
      if (reason === null) summary.passed += 1;
      else {
        summary.failed += 1;
        if (summary.failures.length < 100) summary.failures.push({ id: test.id ?? test.name, reason });
        stop = failFast;
      }
    }
  }
  return out;
}

export { parseBundle };
