// What a verifier can trust offline (docs/FORMATS.md "Trust roots", "Cosignatures", "Signed
// snapshots"), mirroring node/core/formats/trust.py: the trust-root chain, checkpoint statements
// and the messages members sign. Every signed statement is DOMAIN || 0x0A || JCS(body), signed
// by a member's checkpoint-signing key (Ed25519, 32 bytes, or SM2, 65 bytes 04||x||y).

import { concat, equal, toHex, utf8 } from './bytes.js';
import { FormatError, Reader, parseProvinceSignature } from './formats.js';
import { sha256 } from './hash.js';
import { canonicalBytes } from './jcs.js';
import { parseJson } from './safejson.js';
import { verifySignature } from './signatures.js';

export const TRUST_ROOT_TYPE = 'certreg.trust-root';
export const TRUST_ROOT_DOMAIN = 'certreg.trust-root.v1';
export const COSIGNATURE_DOMAIN = 'certreg.cosignature.v1';
export const SNAPSHOT_SIGNATURE_DOMAIN = 'certreg.snapshot-signature.v1';
export const MAX_TRUST_ROOT_BYTES = 4 * 1024 * 1024;
const MAX_MEMBERS = 64;
const MAX_ROOTS = 10000;
const PROVINCE_RE = /^[1-8][0-9]$/;

/** A majority of ``count`` members, as the contract's governance. */
export function thresholdFor(count) {
  return Math.floor(count / 2) + 1;
}

/** The bytes a statement's signature covers: DOMAIN || 0x0A || JCS(body). */
export function signedBytes(domain, body) {
  return concat(utf8(`${domain}\n`), canonicalBytes(body));
}

export { parseProvinceSignature };

function witnessKey(suite, publicKey, path) {
  const ok =
    (suite === 'ed25519' && publicKey.length === 32) ||
    (suite === 'sm2-sm3' && publicKey.length === 65 && publicKey[0] === 4);
  if (!ok) {
    throw new FormatError(
      path,
      'trust_root.key',
      'a checkpoint-signing key is Ed25519 (32 bytes) or SM2 (65 bytes, 04||x||y)',
    );
  }
  return { suite, publicKey };
}

/** The provinces of ``keys`` (Map province -> key or null) whose key verifies a signature. */
export async function signers(message, signatures, keys) {
  const valid = new Set();
  for (const item of signatures) {
    const key = keys.get(item.province);
    if (!key || valid.has(item.province)) continue;
    try {
      await verifySignature(key.suite, key.publicKey, message, item.signature);
      valid.add(item.province);
    } catch {
      // A bad signature counts for nothing.
    }
  }
  return valid;
}

function parseRootBody(value, path) {
  const r = new Reader(value, path);
  r.keys(['network', 'serial', 'block', 'threshold', 'members', 'previous']);
  const b = r.obj('block');
  b.keys(['number', 'hash', 'timestamp']);
  b.integer('number');
  b.hex0x('hash', 32);
  b.integer('timestamp');
  const members = r.array('members', MAX_MEMBERS).map((item, i) => {
    const m = new Reader(item, `${r.at('members')}[${i}]`);
    m.keys(['province', 'suite', 'public_key']);
    const province = m.string('province', PROVINCE_RE);
    if (m.isNull('suite') && m.isNull('public_key')) return { province, key: null };
    return { province, key: witnessKey(m.string('suite'), m.hex('public_key'), m.at('public_key')) };
  });
  const provinces = members.map((m) => m.province);
  const sorted = [...new Set(provinces)].sort();
  if (!members.length || sorted.join() !== provinces.join()) {
    throw new FormatError(r.at('members'), 'trust_root.members', 'members sorted by province, each once');
  }
  const n = new Reader(r.raw('network'), r.at('network'));
  n.keys(['chain_id', 'contract']);
  const serial = r.integer('serial', 1);
  const previous = r.isNull('previous') ? null : r.hex('previous', 32);
  if ((previous === null) !== (serial === 1)) {
    throw new FormatError(r.at('previous'), 'trust_root.chain', 'root 1 alone has no previous root');
  }
  const threshold = thresholdFor(members.length);
  if (r.integer('threshold', 1) !== threshold) {
    throw new FormatError(
      r.at('threshold'),
      'trust_root.threshold',
      `must be ${threshold}, a majority of ${members.length} members`,
    );
  }
  return {
    json: value,
    network: { chainId: n.integer('chain_id', 1), contract: n.hex0x('contract', 20) },
    serial,
    members,
    previous,
    threshold,
    keys: new Map(members.map((m) => [m.province, m.key])),
  };
}

/** The bytes members sign for a root body, and its digest. */
export function rootMessage(body) {
  return signedBytes(TRUST_ROOT_DOMAIN, body.json);
}

export async function rootDigest(body) {
  return sha256(rootMessage(body));
}

/** Parse a trust-root file (text or object) strictly; no signature is checked here. */
export function parseTrustRootFile(input) {
  const value =
    typeof input === 'string' || input instanceof Uint8Array
      ? parseJson(input, 'trust_root', 'trust_root.json', { maxBytes: MAX_TRUST_ROOT_BYTES })
      : input;
  const r = new Reader(value, 'trust_root');
  r.keys(['type', 'version', 'roots']);
  if (r.raw('type') !== TRUST_ROOT_TYPE) {
    throw new FormatError(r.at('type'), 'trust_root.type', `must be '${TRUST_ROOT_TYPE}'`);
  }
  if (r.raw('version') !== 1) throw new FormatError(r.at('version'), 'trust_root.version', 'unsupported version');
  const items = r.array('roots', MAX_ROOTS);
  if (!items.length) throw new FormatError(r.at('roots'), 'trust_root.chain', 'holds no root');
  return items.map((item, i) => {
    const path = `${r.at('roots')}[${i}]`;
    const rr = new Reader(item, path);
    rr.keys(['root', 'signatures']);
    return {
      body: parseRootBody(rr.raw('root'), rr.at('root')),
      signatures: rr
        .array('signatures', 2 * MAX_MEMBERS)
        .map((s, j) => parseProvinceSignature(s, `${rr.at('signatures')}[${j}]`)),
    };
  });
}

async function checkSigned(root, by, path) {
  const valid = await signers(rootMessage(root.body), root.signatures, by.keys);
  if (valid.size < by.threshold) {
    throw new FormatError(
      `${path}.signatures`,
      'trust_root.signatures',
      `${valid.size} valid signatures of root ${by.serial}'s members, ${by.threshold} needed`,
    );
  }
}

/**
 * Check a chain of roots (node/core/formats/trust.py ``TrustRootFile.verify``) and return the
 * current root body. Without ``pinned`` the first root must be signed by a threshold of its own
 * keys; with ``pinned`` (a root body trusted before) the chain must hold it.
 */
export async function verifyTrustRoots(roots, pinned = null) {
  let start = 0;
  if (pinned === null) {
    await checkSigned(roots[0], roots[0].body, 'trust_root.roots[0]');
  } else {
    const digest = await rootDigest(pinned);
    start = -1;
    for (let i = 0; i < roots.length && start < 0; i += 1) {
      if (equal(await rootDigest(roots[i].body), digest)) start = i;
    }
    if (start < 0) {
      throw new FormatError('trust_root.roots', 'trust_root.pinned', `does not hold the pinned root (serial ${pinned.serial})`);
    }
  }
  for (let i = start + 1; i < roots.length; i += 1) {
    const previous = roots[i - 1].body;
    const root = roots[i];
    const path = `trust_root.roots[${i}]`;
    if (root.body.previous === null || !equal(root.body.previous, await rootDigest(previous))) {
      throw new FormatError(`${path}.root.previous`, 'trust_root.chain', 'does not name the root before');
    }
    const sameNetwork =
      root.body.network.chainId === previous.network.chainId && equal(root.body.network.contract, previous.network.contract);
    if (root.body.serial !== previous.serial + 1 || !sameNetwork) {
      throw new FormatError(
        `${path}.root`,
        'trust_root.chain',
        'must have the next serial and the same network as the root before',
      );
    }
    await checkSigned(root, previous, path);
    await checkSigned(root, root.body, path);
  }
  return roots[roots.length - 1].body;
}

/** Parse and verify a trust-root file; returns the current root body. */
export async function loadTrustRoot(input, pinned = null) {
  return verifyTrustRoots(parseTrustRootFile(input), pinned);
}

/** The bytes a member signs for a snapshot: its digest and its time. */
export function snapshotMessage(digest, time) {
  return signedBytes(SNAPSHOT_SIGNATURE_DOMAIN, { digest: toHex(digest), time });
}

/** The statement a bundle's cosignatures cover (node/core/formats/bundle.py ``statement``). */
export function checkpointStatement(bundle) {
  const { network, anchor, witness } = bundle;
  return {
    network: { chain_id: network.chainId, contract: `0x${toHex(network.contract)}` },
    province: anchor.province,
    index: anchor.checkpointIndex,
    previous_size: witness.previousSize,
    tree_size: anchor.treeSize,
    root: toHex(anchor.root),
    block_number: anchor.blockNumber,
    transaction_hash: `0x${toHex(anchor.transactionHash)}`,
    timestamp: witness.timestamp,
  };
}

export function cosignatureMessage(statement) {
  return signedBytes(COSIGNATURE_DOMAIN, statement);
}
