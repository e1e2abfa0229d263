// The in-browser verifier: a bundle against a snapshot at a given time, failing closed. An
// independent JavaScript implementation of node/verify.py: same check order, same result codes
// (docs/FORMATS.md "Verification result codes"), the same JSON result shape as
// ``certreg verify --json``. No network access: everything comes from the two inputs.

import { equal, toHex } from './bytes.js';
import { commitmentOf, fieldHashes } from './commitment.js';
import { parseBundleText } from './compact.js';
import {
  CERTIFICATE_KINDS,
  ENTRY_MIRRORED_FIELDS,
  FormatError,
  examiningBodyCodeOf,
  SnapshotTrustSource,
  parseBundle,
  parseSnapshot,
} from './formats.js';
import { canonicalBytes } from './jcs.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { signingMessage, verifySignature } from './signatures.js';

export const RESULT_CODES = [
  'VALID',
  'TAMPERED',
  'NOT_ANCHORED',
  'UNKNOWN_ISSUER',
  'KEY_NOT_VALID_AT_TIME',
  'REVOKED',
  'SUSPENDED',
  'SUPERSEDED',
  'WRONG_NETWORK',
  'MALFORMED',
  'EXPIRED',
];

/** The checks in order with the code each yields when it fails (node/verify.py ``CHECKS``). */
export const CHECKS = [
  ['format', 'MALFORMED'],
  ['network', 'WRONG_NETWORK'],
  ['commitment', 'TAMPERED'],
  ['issuer', 'UNKNOWN_ISSUER'],
  ['key', 'KEY_NOT_VALID_AT_TIME'],
  ['signature', 'TAMPERED'],
  ['inclusion', 'TAMPERED'],
  ['anchor', 'NOT_ANCHORED'],
  ['status', 'VALID'], // the status check sets its own code
  ['validity', 'EXPIRED'],
];

const STATUS_CODES = { revoked: 'REVOKED', suspended: 'SUSPENDED', superseded: 'SUPERSEDED' };

class Failed extends Error {
  constructor(detail, code = null) {
    super(detail);
    this.code = code;
  }
}

const hex0x = (bytes) => `0x${toHex(bytes)}`;

/** Unix seconds of the start and end of a ``YYYY-MM-DD`` day in China Standard Time (UTC+8). */
export function dayBounds(dateText) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateText);
  if (!match) throw new Error(`invalid date ${dateText}`);
  const [y, m, d] = match.slice(1).map(Number);
  const utc = Date.UTC(y, m - 1, d);
  const check = new Date(utc);
  if (y < 1 || check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) {
    throw new Error(`invalid date ${dateText}`);
  }
  const begin = utc / 1000 - 8 * 3600;
  return [begin, begin + 86400];
}

/**
 * The unix time at which a certificate stops being valid, or null when it has no term
 * (node/core/verify.py ``expiry_of``): a special_ability certificate expires at 00:00 China
 * Standard Time of the same month and day five years after its issue date (1 March for 29 February).
 */
export function expiryOf(type, issueDate) {
  if (type !== 'special_ability') return null;
  const [y, m, d] = issueDate.split('-').map(Number);
  const year = y + 5;
  const leapDay = m === 2 && d === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
  const pad = (n, w) => String(n).padStart(w, '0');
  const anniversary = leapDay ? `${pad(year, 4)}-03-01` : `${pad(year, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
  return dayBounds(anniversary)[0];
}

/** Whether the key's validity [valid_from, valid_until) meets the day (both keys on a rotation day). */
export function keyValidOn(key, dateText) {
  const [start, end] = dayBounds(dateText);
  return key.validFrom < end && (key.validUntil === 0 || key.validUntil > start);
}

class Verification {
  constructor(raw, trust, at) {
    this.raw = raw;
    this.trust = trust;
    this.at = at;
    this.hashes = {};
    this.reason = null;
  }

  async run() {
    const checks = [];
    let code = 'VALID';
    let failed = false;
    for (const [name, failCode] of CHECKS) {
      if (failed) {
        checks.push({ name, passed: null, detail: 'skipped' });
        continue;
      }
      try {
        const detail = await this[name]();
        checks.push({ name, passed: true, detail });
      } catch (exc) {
        // Fail closed on anything unexpected inside a check, as the Python verifier does.
        const detail = exc instanceof Failed || exc instanceof FormatError ? exc.message : `${exc.name}: ${exc.message}`;
        checks.push({ name, passed: false, detail });
        code = exc instanceof Failed && exc.code ? exc.code : failCode === 'VALID' ? 'MALFORMED' : failCode;
        failed = true;
      }
    }
    return {
      result: code,
      valid: code === 'VALID',
      as_of_block: this.trust.block.number,
      checks,
      hashes: this.hashes,
      // The reason code of the status that made the result REVOKED, SUSPENDED or SUPERSEDED.
      reason: this.reason,
    };
  }

  async format() {
    const bundle = parseBundle(this.raw);
    if (!CERTIFICATE_KINDS.includes(bundle.entry.kind)) {
      throw new Failed('bundle.entry.kind: a bundle carries an issue or correct entry');
    }
    for (const name of ENTRY_MIRRORED_FIELDS) {
      if (!Object.hasOwn(bundle.fields, name)) continue; // format 1 commits no type
      if (bundle.fields[name].redacted) throw new Failed(`bundle.fields.${name}: public field must be disclosed`);
    }
    this.bundle = bundle;
    const type = bundle.entry.attributes.type;
    return `bundle v${bundle.version} (${type}), ${bundle.entry.kind} entry`;
  }

  async network() {
    const ours = this.bundle.network;
    const theirs = this.trust.network;
    if (ours.chainId !== theirs.chainId || !equal(ours.contract, theirs.contract)) {
      throw new Failed(
        `bundle is for chain ${ours.chainId} contract ${hex0x(ours.contract)}, ` +
          `trust source is chain ${theirs.chainId} contract ${hex0x(theirs.contract)}`,
      );
    }
    return `chain ${theirs.chainId}, contract ${hex0x(theirs.contract)}`;
  }

  async commitment() {
    const { fields, entry, anchor } = this.bundle;
    const hashes = await fieldHashes(fields);
    const commitment = await commitmentOf(Object.values(hashes));
    this.hashes.field_hashes = Object.fromEntries(Object.entries(hashes).map(([k, v]) => [k, toHex(v)]));
    this.hashes.commitment = toHex(commitment);
    if (!equal(commitment, entry.commitment)) {
      throw new Failed(`computed commitment ${toHex(commitment)} differs from the entry's ${toHex(entry.commitment)}`);
    }
    const special = entry.attributes.type === 'special_ability';
    const expected = {
      certificate_number: entry.certificateNumber,
      // A special_ability certificate shows its 8-digit examining-body code.
      organisation_code: special ? examiningBodyCodeOf(entry.organisationCode) : entry.organisationCode,
      issue_date: entry.attributes.issueDate,
      level: entry.attributes.level,
      occupation_code: entry.attributes.occupationCode,
      work_type_code: entry.attributes.workTypeCode,
    };
    if (entry.attributes.certificateType !== null) expected.certificate_type = entry.attributes.certificateType;
    for (const [name, value] of Object.entries(expected)) {
      if (fields[name].value !== value) throw new Failed(`field ${name} differs from the log entry`);
    }
    if (anchor.province !== entry.province) throw new Failed("anchor province differs from the entry's province");
    return toHex(commitment);
  }

  async issuer() {
    const entry = this.bundle.entry;
    const organisation = this.trust.organisation(entry.organisationCode);
    if (organisation === null) throw new Failed(`organisation ${entry.organisationCode} is not filed`);
    if (organisation.province !== entry.province) {
      throw new Failed(
        `organisation ${entry.organisationCode} is filed by province ${organisation.province}, not ${entry.province}`,
      );
    }
    this.organisation = organisation;
    return `${organisation.code} filed by province ${organisation.province} (${organisation.status})`;
  }

  async key() {
    const { signature, attributes } = this.bundle.entry;
    const key = this.organisation.keys.find((k) => k.keyId === signature.keyId);
    if (!key) throw new Failed(`organisation has no key ${signature.keyId}`);
    if (key.suite !== signature.suite) throw new Failed(`key ${key.keyId} is ${key.suite}, signature is ${signature.suite}`);
    if (!keyValidOn(key, attributes.issueDate)) {
      throw new Failed(`key ${key.keyId} is not valid on the issue date ${attributes.issueDate}`);
    }
    this.key = key;
    return `key ${key.keyId} (${key.suite}) valid on ${attributes.issueDate}`;
  }

  async signature() {
    const { network, entry } = this.bundle;
    const message = signingMessage(network.chainId, network.contract, entry.commitment);
    try {
      await verifySignature(this.key.suite, this.key.publicKey, message, entry.signature.value);
    } catch (exc) {
      throw new Failed(`signature does not verify: ${exc.message}`);
    }
    return `${this.key.suite} signature by key ${this.key.keyId}`;
  }

  async inclusion() {
    const { proof, anchor } = this.bundle;
    const leaf = await leafHash(canonicalBytes(this.bundle.json.entry));
    this.hashes.leaf_hash = toHex(leaf);
    if (proof.treeSize !== anchor.treeSize) throw new Failed('proof tree size differs from the anchored tree size');
    try {
      await verifyInclusion(leaf, proof.leafIndex, proof.treeSize, proof.hashes, anchor.root);
    } catch (exc) {
      throw new Failed(`inclusion proof fails: ${exc.message}`);
    }
    this.hashes.root = toHex(anchor.root);
    return `leaf ${proof.leafIndex} of ${proof.treeSize}`;
  }

  async anchor() {
    const anchor = this.bundle.anchor;
    const checkpoint = this.trust.checkpoint(anchor.province, anchor.checkpointIndex);
    if (checkpoint === null) {
      throw new Failed(
        `no checkpoint ${anchor.checkpointIndex} of province ${anchor.province} as of block ${this.trust.block.number}`,
      );
    }
    const mismatches = [
      ['tree_size', anchor.treeSize === checkpoint.treeSize],
      ['root', equal(anchor.root, checkpoint.root)],
      ['block_number', anchor.blockNumber === checkpoint.blockNumber],
      ['transaction_hash', equal(anchor.transactionHash, checkpoint.transactionHash)],
    ]
      .filter(([, same]) => !same)
      .map(([name]) => name);
    if (mismatches.length) throw new Failed(`checkpoint ${checkpoint.index} differs in ${mismatches.join(', ')}`);
    if (checkpoint.timestamp > this.at) throw new Failed(`checkpoint was anchored after the verification time ${this.at}`);
    this.hashes.anchored_root = toHex(checkpoint.root);
    return `checkpoint ${checkpoint.index} at block ${checkpoint.blockNumber}`;
  }

  async status() {
    const entry = this.bundle.entry;
    const history = this.trust.statusHistory(entry.province, entry.commitment).filter((r) => r.timestamp <= this.at);
    if (!history.length) return 'active';
    const current = history[history.length - 1];
    const code = STATUS_CODES[current.status];
    if (code) {
      let detail = `${current.status} (reason ${current.reason}) at block ${current.blockNumber}`;
      if (current.successor !== null) {
        detail += `, successor ${toHex(current.successor)}`;
        this.hashes.successor = toHex(current.successor);
      }
      this.reason = current.reason;
      throw new Failed(detail, code);
    }
    return `${current.status} at block ${current.blockNumber}`;
  }

  async validity() {
    const { type, issueDate } = this.bundle.entry.attributes;
    const expires = expiryOf(type, issueDate);
    if (expires === null) return `${type}: no term of validity`;
    if (this.at >= expires) throw new Failed(`${type} certificate expired at ${expires} (5 years)`);
    return `${type}: valid until ${expires} (5 years)`;
  }
}

/** Verify a bundle's JSON object against a SnapshotTrustSource at unix time ``at``; never throws. */
export function verifyBundle(raw, trust, at) {
  return new Verification(raw, trust, at).run();
}

/** A trust source from a snapshot's JSON object (throws FormatError on a bad snapshot). */
export function trustFromSnapshot(json) {
  return new SnapshotTrustSource(parseSnapshot(json));
}

/** Verify bundle text (JSON or compact ``CR1:``) as node/verify.py ``verify_bundle_text``. */
export async function verifyBundleText(text, trust, at) {
  let raw;
  try {
    raw = await parseBundleText(text);
  } catch (exc) {
    const checks = [{ name: 'format', passed: false, detail: exc.message }];
    for (const [name] of CHECKS.slice(1)) checks.push({ name, passed: null, detail: 'skipped' });
    return { result: 'MALFORMED', valid: false, as_of_block: trust.block.number, checks, hashes: {}, reason: null };
  }
  return verifyBundle(raw, trust, at);
}
