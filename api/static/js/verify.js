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
import { deadlineDispute, numberDispute, scopeDispute } from './disputes.js';
import { sha256 } from './hash.js';
import { canonicalBytes } from './jcs.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { signingMessage, verifySignature } from './signatures.js';
import { checkpointStatement, cosignatureMessage, signers, snapshotMessage } from './trust.js';

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
  'UNTRUSTED_SNAPSHOT',
  'STALE',
  'DISPUTED',
  'EXPIRED',
];

/** The default maximum age of a snapshot given with a trust root (seconds). */
export const DEFAULT_MAX_AGE = 7 * 86400;

/** The checks in order with the code each yields when it fails (node/verify.py ``CHECKS``). */
export const CHECKS = [
  ['format', 'MALFORMED'],
  ['network', 'WRONG_NETWORK'],
  ['trust', 'UNTRUSTED_SNAPSHOT'],
  ['commitment', 'TAMPERED'],
  ['issuer', 'UNKNOWN_ISSUER'],
  ['key', 'KEY_NOT_VALID_AT_TIME'],
  ['signature', 'TAMPERED'],
  ['inclusion', 'TAMPERED'],
  ['anchor', 'NOT_ANCHORED'],
  ['freshness', 'STALE'],
  ['status', 'VALID'], // the status check sets its own code
  ['validity', 'EXPIRED'],
  ['rules', 'DISPUTED'],
  ['findings', 'DISPUTED'],
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
  // setUTCFullYear, not Date.UTC, which reads the years 0-99 as 1900-1999.
  const check = new Date(0);
  const utc = check.setUTCFullYear(y, m - 1, d);
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

/** A unix time as ``YYYY-MM-DD HH:MM (UTC+8)`` (China Standard Time). */
export function describeTime(seconds) {
  // Outside years 1970-9999 (a document may carry up to 2^53 - 1): node/core/verify.py alike.
  if (!(seconds >= 0 && seconds <= 253402271999)) return `unix time ${seconds}`;
  const d = new Date((seconds + 8 * 3600) * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} (UTC+8)`
  );
}

const describeNetwork = (n) => `chain ${n.chainId} contract ${hex0x(n.contract)}`;
const sameNetwork = (a, b) => a.chainId === b.chainId && equal(a.contract, b.contract);
const ATTESTED = "attested by the cosigners (each checked the entry's signature with the filed key)";

/** The provinces among the root's keys whose signature over the snapshot's digest and time verifies. */
export async function snapshotSigners(trust, root) {
  const snapshot = trust.snapshot;
  if (snapshot.extras === null || !snapshot.signatures.length) return new Set();
  const body = Object.fromEntries(Object.entries(snapshot.json).filter(([k]) => k !== 'signatures'));
  const digest = await sha256(canonicalBytes(body));
  return signers(snapshotMessage(digest, snapshot.time), snapshot.signatures, root.keys);
}

class Verification {
  constructor(raw, trust, at, options = {}) {
    this.raw = raw;
    this.source = trust;
    this.at = at;
    this.root = options.root ?? null;
    this.maxAge = options.maxAge ?? null;
    this.hashes = {};
    this.reason = null;
    this.disputes = [];
    this.asOfBlock = trust === null ? null : trust.block.number;
    this.asOfTime = trust === null ? null : trust.time;
    this.basis = trust === null ? 'witnessed' : 'snapshot';
  }

  get witnessed() {
    return this.source === null;
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
      as_of_block: this.asOfBlock,
      as_of_time: this.asOfTime,
      basis: this.basis,
      checks,
      hashes: this.hashes,
      disputes: this.disputes,
      // The reason code of the status that made the result REVOKED, SUSPENDED or SUPERSEDED.
      reason: this.reason,
    };
  }

  async format() {
    const bundle = parseBundle(this.raw);
    if (!CERTIFICATE_KINDS.includes(bundle.entry.kind)) {
      throw new Failed('bundle.entry.kind: a bundle carries an issue or correct entry');
    }
    const issueDate = bundle.entry.attributes?.issueDate;
    try {
      dayBounds(issueDate);
    } catch {
      throw new Failed(`bundle.entry.attributes.issue_date: ${issueDate} is not a calendar date [entry.issue_date]`);
    }
    for (const name of ENTRY_MIRRORED_FIELDS) {
      if (!Object.hasOwn(bundle.fields, name)) continue; // format 1 commits no type
      if (bundle.fields[name].redacted) throw new Failed(`bundle.fields.${name}: public field must be disclosed`);
    }
    if (bundle.witness !== null && bundle.witness.previousSize >= bundle.anchor.treeSize) {
      throw new Failed('bundle.witness.previous_size: must be below the anchored tree size');
    }
    this.bundle = bundle;
    const type = bundle.entry.attributes.type;
    return `bundle v${bundle.version} (${type}), ${bundle.entry.kind} entry${bundle.witness !== null ? ', with cosignatures' : ''}`;
  }

  async network() {
    const ours = this.bundle.network;
    const expected = this.witnessed ? this.root.network : this.source.network;
    if (!sameNetwork(ours, expected)) {
      const source = this.witnessed ? 'trust root' : 'trust source';
      throw new Failed(`bundle is for ${describeNetwork(ours)}, ${source} is ${describeNetwork(expected)}`);
    }
    if (this.root !== null && !sameNetwork(this.root.network, expected)) {
      throw new Failed(
        `the snapshot is of ${describeNetwork(expected)}, the trust root of ${describeNetwork(this.root.network)}`,
      );
    }
    return describeNetwork(expected);
  }

  async trust() {
    const root = this.root;
    if (this.witnessed) {
      const witness = this.bundle.witness;
      if (witness === null) throw new Failed('no snapshot, and the bundle carries no cosignatures');
      const statement = checkpointStatement(this.bundle);
      const valid = await signers(cosignatureMessage(statement), witness.cosignatures, root.keys);
      if (valid.size < root.threshold) {
        throw new Failed(
          `${valid.size} valid cosignatures of the checkpoint by trust root ${root.serial}'s members, ${root.threshold} needed`,
        );
      }
      this.asOfBlock = statement.block_number;
      this.asOfTime = statement.timestamp;
      return (
        `checkpoint witnessed by ${[...valid].sort().join(', ')} (${valid.size} of ${root.members.length}, ` +
        `${root.threshold} needed), anchored ${describeTime(statement.timestamp)}`
      );
    }
    if (root === null) return 'no trust root: the snapshot is taken as given';
    const valid = await snapshotSigners(this.source, root);
    if (valid.size < root.threshold) {
      throw new Failed(
        `the snapshot carries ${valid.size} valid signatures of trust root ${root.serial}'s members, ${root.threshold} needed`,
      );
    }
    return `snapshot signed by ${[...valid].sort().join(', ')} (${valid.size} of ${root.members.length}, ${root.threshold} needed)`;
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
    if (this.witnessed) return ATTESTED;
    const entry = this.bundle.entry;
    const organisation = this.source.organisation(entry.organisationCode);
    if (organisation === null) throw new Failed(`organisation ${entry.organisationCode} is not filed`);
    if (organisation.province !== entry.province) {
      throw new Failed(
        `organisation ${entry.organisationCode} is filed by province ${organisation.province}, not ${entry.province}`,
      );
    }
    this.organisation = organisation;
    if (entry.signature.signer === 'province') {
      // 中就培发〔2022〕1号 art. 16: the province maintains the certificates of an organisation
      // that no longer exists; it does not sign for a live one.
      if (organisation.status !== 'terminated') {
        throw new Failed(
          `the province signed a correction of ${organisation.code}, which is ${organisation.status}: ` +
            "the province maintains only a terminated organisation's certificates",
        );
      }
      return `${organisation.code} filed by province ${organisation.province} (terminated; certificate maintained by the province)`;
    }
    return `${organisation.code} filed by province ${organisation.province} (${organisation.status})`;
  }

  async key() {
    if (this.witnessed) return ATTESTED;
    const { signature, attributes } = this.bundle.entry;
    if (signature.signer === 'province') return this.maintenanceKey();
    const key = this.organisation.keys.find((k) => k.keyId === signature.keyId);
    if (!key) throw new Failed(`organisation has no key ${signature.keyId}`);
    if (key.suite !== signature.suite) throw new Failed(`key ${key.keyId} is ${key.suite}, signature is ${signature.suite}`);
    if (!keyValidOn(key, attributes.issueDate)) {
      throw new Failed(`key ${key.keyId} is not valid on the issue date ${attributes.issueDate}`);
    }
    this.key = key;
    return `key ${key.keyId} (${key.suite}) valid on ${attributes.issueDate}`;
  }

  /** The province's maintenance key in force when its correction was first anchored. */
  maintenanceKey() {
    const entry = this.bundle.entry;
    const member = this.source.member(entry.province);
    if (member === null || !member.maintenanceKeys.length) {
      throw new Failed(`province ${entry.province} published no maintenance key`);
    }
    const [anchoredAt] = this.anchoring();
    if (anchoredAt === null) throw new Failed("anchoring time unknown: the province's maintenance key is not judged");
    const key = member.maintenanceKeys.find(
      (k) => k.validFrom <= anchoredAt && (k.validUntil === 0 || anchoredAt < k.validUntil),
    );
    if (!key) {
      throw new Failed(
        `province ${entry.province} had no maintenance key when the entry was anchored (${describeTime(anchoredAt)})`,
      );
    }
    this.key = key;
    return `province ${entry.province}'s maintenance key ${key.keyId} (${key.suite}) in force when anchored (${describeTime(anchoredAt)})`;
  }

  async signature() {
    if (this.witnessed) return ATTESTED;
    const { network, entry } = this.bundle;
    const message = signingMessage(network.chainId, network.contract, entry.commitment);
    try {
      await verifySignature(this.key.suite, this.key.publicKey, message, entry.signature.value);
    } catch (exc) {
      throw new Failed(`signature does not verify: ${exc.message}`);
    }
    if (entry.signature.signer === 'province') {
      return `${this.key.suite} signature by province ${entry.province}'s maintenance key`;
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
    if (this.witnessed) {
      if (this.bundle.witness.timestamp > this.at) {
        throw new Failed(`checkpoint was anchored after the verification time ${this.at}`);
      }
      this.hashes.anchored_root = toHex(anchor.root);
      return `checkpoint ${anchor.checkpointIndex} at block ${anchor.blockNumber} (cosigned)`;
    }
    const checkpoint = this.source.checkpoint(anchor.province, anchor.checkpointIndex);
    if (checkpoint === null) {
      throw new Failed(
        `no checkpoint ${anchor.checkpointIndex} of province ${anchor.province} as of block ${this.source.block.number}`,
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

  async freshness() {
    if (this.witnessed) {
      return `as of the checkpoint's time ${describeTime(this.asOfTime)}: later revocations are not known`;
    }
    const taken = describeTime(this.source.time);
    if (this.maxAge === null) return `taken ${taken} (no maximum age given)`;
    const age = this.at - this.source.time;
    const hours = (s) => Math.floor(s / 3600);
    if (age > this.maxAge) {
      throw new Failed(
        `the snapshot was taken ${taken}, ${hours(age)} h before the verification time; the maximum age is ${hours(this.maxAge)} h`,
      );
    }
    return `taken ${taken}, within the maximum age of ${hours(this.maxAge)} h`;
  }

  async status() {
    if (this.witnessed) {
      return 'logged and anchored in the cosigned checkpoint; revocations after it are not known (verify with a fresh snapshot)';
    }
    const entry = this.bundle.entry;
    const history = this.source.statusHistory(entry.province, entry.commitment).filter((r) => r.timestamp <= this.at);
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

  /** When the entry was first anchored (unix time) and that checkpoint, as far as known. */
  anchoring() {
    const { proof, entry, witness } = this.bundle;
    if (this.witnessed) {
      return proof.leafIndex >= witness.previousSize ? [witness.timestamp, null] : [null, null];
    }
    const first = this.source.firstCheckpointWith(entry.province, proof.leafIndex);
    return first === null ? [null, null] : [first.timestamp, first];
  }

  async rules() {
    if (!this.witnessed && !this.source.hasHistory) {
      return 'not judged: a version 1 snapshot carries no anchoring history';
    }
    const entry = this.bundle.entry;
    const attributes = entry.attributes;
    if (attributes.type !== 'skill_level') {
      // The number layout and the deadlines re-run here are those of 职业技能等级证书.
      return `not judged: the rules re-run are those of skill_level, not ${attributes.type}`;
    }
    const found = [];
    const notes = [];
    const number = numberDispute(entry.certificateNumber, attributes.issueDate, attributes.level);
    if (number !== null) found.push(number);
    const [anchoredAt, checkpoint] = this.anchoring();
    const calendar = this.witnessed ? null : this.source.calendar;
    if (entry.kind !== 'issue') notes.push('deadlines apply to issue entries');
    else if (anchoredAt === null) notes.push('anchoring time unknown: deadlines not judged');
    else {
      const [late, judged] = deadlineDispute(attributes.issueDate, anchoredAt, entry.reason, calendar);
      if (late !== null) found.push(late);
      else if (judged) notes.push(judged);
    }
    if (checkpoint !== null && !this.witnessed && this.source.hasHistory) found.push(...this.organisationRules(checkpoint, notes));
    if (found.length) {
      this.disputes.push(...found);
      throw new Failed(found.map((d) => `${d.kind}: ${d.detail}`).join('; '), 'DISPUTED');
    }
    return ['number carries the issue year and level', ...notes].join('; ');
  }

  organisationRules(checkpoint, notes) {
    const entry = this.bundle.entry;
    const attributes = entry.attributes;
    const organisation = this.source.organisation(entry.organisationCode);
    const when = describeTime(checkpoint.timestamp);
    let state = null;
    for (const item of organisation === null ? [] : organisation.history) {
      if (item.timestamp > checkpoint.timestamp) break;
      state = item;
    }
    const rule = (kind, detail) => ({ kind, source: 'rules', detail, auditor: null, checkpoint_index: null });
    if (state === null) {
      return [
        rule(
          'organisation.unknown',
          `organisation ${entry.organisationCode} was not filed when the certificate was anchored (${when})`,
        ),
      ];
    }
    const byProvince = entry.signature !== null && entry.signature.signer === 'province';
    if (byProvince && state.status !== 'terminated') {
      return [
        rule(
          'maintenance.organisation_active',
          `the province signed a correction while organisation ${entry.organisationCode} was ${state.status} (${when}); ` +
            "it maintains only a terminated organisation's certificates",
        ),
      ];
    }
    if (state.status !== 'active' && !byProvince) {
      return [
        rule(
          'organisation.not_active',
          `organisation ${entry.organisationCode} was ${state.status} when the certificate was anchored (${when})`,
        ),
      ];
    }
    const scope = this.source.scope(state.scopeHash);
    if (scope === null) {
      notes.push('the filed scope is not in the snapshot');
      return [];
    }
    // The scope in force on the issue date (items' effective dates, node/core/rules/scope.py).
    const day = attributes.issueDate;
    const inForce = scope.items.filter(
      (item) =>
        (item.effectiveFrom === null || item.effectiveFrom <= day) && (item.effectiveUntil === null || day < item.effectiveUntil),
    );
    const outside = scopeDispute(attributes.occupationCode, attributes.workTypeCode, attributes.level, inForce);
    if (outside !== null) return [outside];
    notes.push('organisation filed, active and in scope when anchored');
    return [];
  }

  async findings() {
    if (this.witnessed) return 'no audit statements without a snapshot';
    const entry = this.bundle.entry;
    const found = this.source
      .findings(entry.province, this.bundle.proof.leafIndex)
      .filter(([, finding]) => equal(finding.commitment, entry.commitment))
      .map(([record, finding]) => ({
        kind: finding.kind,
        source: 'audit',
        detail:
          `auditor ${hex0x(record.auditor)} reports ${finding.kind} for leaf ${finding.leafIndex} ` +
          `of checkpoint ${record.checkpointIndex}`,
        auditor: hex0x(record.auditor),
        checkpoint_index: record.checkpointIndex,
      }));
    if (found.length) {
      this.disputes.push(...found);
      throw new Failed(found.map((d) => d.detail).join('; '), 'DISPUTED');
    }
    return "no auditor's finding names this certificate";
  }
}

/**
 * Verify a bundle's JSON object against a SnapshotTrustSource (or null: only the trust root and
 * the bundle's cosignatures) at unix time ``at``; never throws for a bad bundle.
 * ``options.root``: the verifier's trust root body (trust.js ``loadTrustRoot``);
 * ``options.maxAge``: seconds a snapshot stays fresh (null: not judged).
 */
export function verifyBundle(raw, trust, at, options = {}) {
  if (trust === null && !options.root) throw new Error('verify against a trust source, a trust root, or both');
  return new Verification(raw, trust, at, options).run();
}

/** A trust source from a snapshot's JSON object (throws FormatError on a bad snapshot). */
export function trustFromSnapshot(json) {
  return new SnapshotTrustSource(parseSnapshot(json));
}

/** Verify bundle text (JSON or compact ``CR1:``) as node/verify.py ``verify_bundle_text``. */
export async function verifyBundleText(text, trust, at, options = {}) {
  let raw;
  try {
    raw = await parseBundleText(text);
  } catch (exc) {
    const checks = [{ name: 'format', passed: false, detail: exc.message }];
    for (const [name] of CHECKS.slice(1)) checks.push({ name, passed: null, detail: 'skipped' });
    return {
      result: 'MALFORMED',
      valid: false,
      as_of_block: trust === null ? null : trust.block.number,
      as_of_time: trust === null ? null : trust.time,
      basis: trust === null ? 'witnessed' : 'snapshot',
      checks,
      hashes: {},
      disputes: [],
      reason: null,
    };
  }
  return verifyBundle(raw, trust, at, options);
}
