// Strict readers of the pinned JSON formats (docs/FORMATS.md "Bundle", "Snapshot", "Log entries";
// schemas/*.schema.json), mirroring node/jsonfmt.py, node/bundle.py, node/entry.py and
// node/snapshot.py: exact key sets, JSON types, lowercase hex of the pinned sizes, ranges and
// patterns. Nothing unknown passes (fail closed). Errors name the JSON path and a dotted rule id,
// as node.errors.InvalidInput does, and never carry field values (personal data).

import { fromHex, isHex } from './bytes.js';

export const FIELD_NAMES = [
  'holder_name',
  'id_type',
  'id_number',
  'occupation_name',
  'occupation_code',
  'work_type_name',
  'work_type_code',
  'level',
  'certificate_number',
  'issue_date',
  'organisation_name',
  'organisation_code',
];
/** Fields mirrored in the public log entry: a bundle must disclose them (node/bundle.py). */
export const ENTRY_MIRRORED_FIELDS = [
  'certificate_number',
  'organisation_code',
  'issue_date',
  'level',
  'occupation_code',
  'work_type_code',
];
export const ENTRY_KINDS = ['issue', 'correct', 'revoke', 'suspend', 'reinstate', 'delete'];
export const CERTIFICATE_KINDS = ['issue', 'correct'];
export const SUITES = ['ed25519', 'ecdsa-secp256k1', 'sm2-sm3'];
const ORGANISATION_STATUSES = ['active', 'suspended', 'terminated'];
const CERTIFICATE_STATUSES = ['active', 'revoked', 'suspended', 'superseded', 'reinstated'];

const PROVINCE_RE = /^[1-8][0-9]$/;
const ORGANISATION_CODE_RE = /^[YS][0-9]{12}$/;
const CERTIFICATE_NUMBER_RE = /^[YS][0-9]{21}$/;
const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
const OCCUPATION_CODE_RE = /^[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}$/;
const WORK_TYPE_CODE_RE = /^(?:[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}|--)$/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
// Sizes, indices and key times: JSON numbers in JavaScript are exact only up to 2^53 - 1, so
// larger values are refused here, as node/core/formats/snapshot.py MAX_INDEX does.
const MAX_UINT64 = MAX_SAFE;
const MAX_PROOF_HASHES = 64;

/** Input broke a format rule: ``field`` is the JSON path, ``rule`` the dotted rule id. */
export class FormatError extends Error {
  constructor(field, rule, message) {
    super(`${field}: ${message} [${rule}]`);
    this.field = field;
    this.rule = rule;
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

class Reader {
  constructor(value, path) {
    if (!isObject(value)) throw new FormatError(path, 'schema.type', 'must be an object');
    this.value = value;
    this.path = path;
  }

  at(key) {
    return `${this.path}.${key}`;
  }

  keys(required) {
    for (const key of [...required].sort()) {
      if (!Object.hasOwn(this.value, key)) {
        throw new FormatError(this.at(key), 'schema.required', 'required key is missing');
      }
    }
    for (const key of Object.keys(this.value).sort()) {
      if (!required.includes(key)) {
        throw new FormatError(this.at(key), 'schema.unknown_key', 'unknown key');
      }
    }
  }

  raw(key) {
    if (!Object.hasOwn(this.value, key)) {
      throw new FormatError(this.at(key), 'schema.required', 'required key is missing');
    }
    return this.value[key];
  }

  obj(key) {
    return new Reader(this.raw(key), this.at(key));
  }

  isNull(key) {
    return this.raw(key) === null;
  }

  string(key, pattern) {
    return checkString(this.raw(key), this.at(key), pattern);
  }

  integer(key, minimum = 0, maximum = MAX_SAFE) {
    return checkInteger(this.raw(key), this.at(key), minimum, maximum);
  }

  hex(key, size) {
    return checkHex(this.raw(key), this.at(key), size);
  }

  hex0x(key, size) {
    const value = this.raw(key);
    if (typeof value !== 'string' || !value.startsWith('0x')) {
      throw new FormatError(this.at(key), 'schema.hex', 'must be 0x-prefixed lowercase hex');
    }
    return checkHex(value.slice(2), this.at(key), size);
  }

  array(key, maxItems = 10000) {
    const value = this.raw(key);
    if (!Array.isArray(value)) throw new FormatError(this.at(key), 'schema.type', 'must be an array');
    if (value.length > maxItems) {
      throw new FormatError(this.at(key), 'schema.max_items', `more than ${maxItems} items`);
    }
    return value;
  }
}

function checkString(value, path, pattern) {
  if (typeof value !== 'string') throw new FormatError(path, 'schema.type', 'must be a string');
  if (pattern && !pattern.test(value)) {
    throw new FormatError(path, 'schema.pattern', `must match ${pattern.source}`);
  }
  return value;
}

function checkInteger(value, path, minimum, maximum) {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new FormatError(path, 'schema.type', 'must be an integer');
  }
  if (value < minimum || value > maximum) {
    throw new FormatError(path, 'schema.range', `must be between ${minimum} and ${maximum}`);
  }
  return value;
}

function checkHex(value, path, size) {
  if (!isHex(value)) throw new FormatError(path, 'schema.hex', 'must be lowercase hex with an even length');
  const bytes = fromHex(value);
  if (size !== undefined && bytes.length !== size) {
    throw new FormatError(path, 'schema.hex_size', `must be ${size} bytes`);
  }
  return bytes;
}

function network(r) {
  r.keys(['chain_id', 'contract']);
  return { chainId: r.integer('chain_id', 1), contract: r.hex0x('contract', 20) };
}

function fieldProof(r, name) {
  if (Object.hasOwn(r.value, 'hash')) {
    r.keys(['hash']);
    return { redacted: true, hash: r.hex('hash', 32) };
  }
  r.keys(['salt', 'value']);
  let value;
  if (name === 'level') value = r.integer('value', 1, 5);
  else {
    value = r.string('value');
    if ([...value].length > 200) {
      throw new FormatError(r.at('value'), 'schema.max_length', 'at most 200 characters');
    }
  }
  return { redacted: false, value, salt: r.hex('salt', 32) };
}

/** Parse a log entry object strictly (node/entry.py ``LogEntry.from_json``). */
export function parseEntry(value, path = 'entry') {
  const r = new Reader(value, path);
  r.keys([
    'v',
    'kind',
    'province',
    'organisation_code',
    'certificate_number',
    'commitment',
    'links',
    'reason',
    'attributes',
    'signature',
  ]);
  if (r.raw('v') !== 1) throw new FormatError(r.at('v'), 'entry.version', 'must be 1');
  const kind = r.string('kind');
  if (!ENTRY_KINDS.includes(kind)) {
    throw new FormatError(r.at('kind'), 'entry.kind', `must be one of ${ENTRY_KINDS}`);
  }
  const links = r.array('links').map((link, i) => checkHex(link, `${r.at('links')}[${i}]`, 32));
  let attributes = null;
  if (!r.isNull('attributes')) {
    const a = r.obj('attributes');
    a.keys(['issue_date', 'level', 'occupation_code', 'work_type_code']);
    attributes = {
      issueDate: a.string('issue_date', DATE_RE),
      level: a.integer('level', 1, 5),
      occupationCode: a.string('occupation_code', OCCUPATION_CODE_RE),
      workTypeCode: a.string('work_type_code', WORK_TYPE_CODE_RE),
    };
  }
  let signature = null;
  if (!r.isNull('signature')) {
    const s = r.obj('signature');
    s.keys(['suite', 'key_id', 'value']);
    const suite = s.string('suite');
    if (!SUITES.includes(suite)) {
      throw new FormatError(s.at('suite'), 'entry.suite', `must be one of ${SUITES}`);
    }
    signature = { suite, keyId: s.integer('key_id', 0, 2 ** 32 - 1), value: s.hex('value') };
    if (signature.value.length < 1 || signature.value.length > 256) {
      throw new FormatError(s.at('value'), 'entry.signature_size', '1-256 bytes');
    }
  }
  const reason = r.isNull('reason') ? null : r.integer('reason', 0, 65535);
  const entry = {
    kind,
    province: r.string('province', PROVINCE_RE),
    organisationCode: r.string('organisation_code', ORGANISATION_CODE_RE),
    certificateNumber: r.string('certificate_number', CERTIFICATE_NUMBER_RE),
    commitment: r.hex('commitment', 32),
    links,
    reason,
    attributes,
    signature,
  };
  if (entry.certificateNumber.slice(0, 13) !== entry.organisationCode) {
    throw new FormatError(
      `${path}.certificate_number`,
      'entry.issuer',
      'positions 1-13 must equal the organisation code',
    );
  }
  return entry;
}

/**
 * Parse a bundle object strictly (node/bundle.py ``Bundle.from_json``). Returns the typed bundle;
 * ``bundle.json`` keeps the original object (the entry is hashed from ``bundle.json.entry``).
 */
export function parseBundle(value) {
  const r = new Reader(value, 'bundle');
  r.keys(['type', 'version', 'network', 'fields', 'entry', 'proof', 'anchor']);
  if (r.raw('type') !== 'certreg.bundle') {
    throw new FormatError(r.at('type'), 'bundle.type', "must be 'certreg.bundle'");
  }
  if (r.raw('version') !== 1) throw new FormatError(r.at('version'), 'bundle.version', 'unsupported version');
  const f = r.obj('fields');
  f.keys(FIELD_NAMES);
  const fields = {};
  for (const name of FIELD_NAMES) fields[name] = fieldProof(f.obj(name), name);
  const p = r.obj('proof');
  p.keys(['leaf_index', 'tree_size', 'hashes']);
  const hashes = p
    .array('hashes', MAX_PROOF_HASHES)
    .map((h, i) => checkHex(h, `${p.at('hashes')}[${i}]`, 32));
  const a = r.obj('anchor');
  a.keys(['province', 'checkpoint_index', 'tree_size', 'root', 'block_number', 'transaction_hash']);
  return {
    json: value,
    network: network(r.obj('network')),
    fields,
    entry: parseEntry(r.raw('entry'), 'bundle.entry'),
    proof: {
      leafIndex: p.integer('leaf_index', 0, MAX_UINT64),
      treeSize: p.integer('tree_size', 1, MAX_UINT64),
      hashes,
    },
    anchor: {
      province: a.string('province', PROVINCE_RE),
      checkpointIndex: a.integer('checkpoint_index', 0, MAX_UINT64),
      treeSize: a.integer('tree_size', 1, MAX_UINT64),
      root: a.hex('root', 32),
      blockNumber: a.integer('block_number'),
      transactionHash: a.hex0x('transaction_hash', 32),
    },
  };
}

function organisation(r) {
  r.keys(['code', 'province', 'status', 'scope_hash', 'keys']);
  const status = r.string('status');
  if (!ORGANISATION_STATUSES.includes(status)) {
    throw new FormatError(r.at('status'), 'snapshot.organisation_status', 'unknown status');
  }
  const keys = r.array('keys', 1000).map((k, i) => {
    const kr = new Reader(k, `${r.at('keys')}[${i}]`);
    kr.keys(['key_id', 'suite', 'public_key', 'valid_from', 'valid_until']);
    const suite = kr.string('suite');
    if (!SUITES.includes(suite)) {
      throw new FormatError(kr.at('suite'), 'snapshot.suite', `must be one of ${SUITES}`);
    }
    return {
      keyId: kr.integer('key_id', 0, 2 ** 32 - 1),
      suite,
      publicKey: kr.hex('public_key'),
      validFrom: kr.integer('valid_from', 0, MAX_UINT64),
      validUntil: kr.integer('valid_until', 0, MAX_UINT64),
    };
  });
  return {
    code: r.string('code', ORGANISATION_CODE_RE),
    province: r.string('province', PROVINCE_RE),
    status,
    scopeHash: r.hex('scope_hash', 32),
    keys,
  };
}

function checkpoint(r) {
  r.keys(['province', 'index', 'tree_size', 'root', 'block_number', 'timestamp', 'manifest_cid', 'transaction_hash']);
  return {
    province: r.string('province', PROVINCE_RE),
    index: r.integer('index', 0, MAX_UINT64),
    treeSize: r.integer('tree_size', 1, MAX_UINT64),
    root: r.hex('root', 32),
    blockNumber: r.integer('block_number'),
    timestamp: r.integer('timestamp'),
    manifestCid: r.string('manifest_cid'),
    transactionHash: r.hex0x('transaction_hash', 32),
  };
}

function statusRecord(r) {
  r.keys(['province', 'commitment', 'status', 'reason', 'successor', 'block_number', 'timestamp', 'transaction_hash']);
  const status = r.string('status');
  if (!CERTIFICATE_STATUSES.includes(status)) {
    throw new FormatError(r.at('status'), 'snapshot.certificate_status', 'unknown status');
  }
  return {
    province: r.string('province', PROVINCE_RE),
    commitment: r.hex('commitment', 32),
    status,
    reason: r.integer('reason', 0, 65535),
    successor: r.isNull('successor') ? null : r.hex('successor', 32),
    blockNumber: r.integer('block_number'),
    timestamp: r.integer('timestamp'),
    transactionHash: r.hex0x('transaction_hash', 32),
  };
}

/** Parse a snapshot strictly (node/snapshot.py ``Snapshot.from_json``). */
export function parseSnapshot(value) {
  const r = new Reader(value, 'snapshot');
  r.keys(['type', 'version', 'network', 'block', 'members', 'organisations', 'checkpoints', 'statuses']);
  if (r.raw('type') !== 'certreg.snapshot') {
    throw new FormatError(r.at('type'), 'snapshot.type', "must be 'certreg.snapshot'");
  }
  if (r.raw('version') !== 1) {
    throw new FormatError(r.at('version'), 'snapshot.version', 'unsupported version');
  }
  const b = r.obj('block');
  b.keys(['number', 'hash', 'timestamp']);
  const many = 1e8;
  const members = r.array('members', 1000).map((m, i) => {
    const mr = new Reader(m, `snapshot.members[${i}]`);
    mr.keys(['province', 'operators']);
    mr.array('operators', 100).forEach((op, j) => {
      new Reader({ op }, `${mr.at('operators')}[${j}]`).hex0x('op', 20);
    });
    return { province: mr.string('province', PROVINCE_RE) };
  });
  return {
    network: network(r.obj('network')),
    block: { number: b.integer('number'), hash: b.hex0x('hash', 32), timestamp: b.integer('timestamp') },
    members,
    organisations: r.array('organisations', many).map((o, i) => organisation(new Reader(o, `snapshot.organisations[${i}]`))),
    checkpoints: r.array('checkpoints', many).map((c, i) => checkpoint(new Reader(c, `snapshot.checkpoints[${i}]`))),
    statuses: r.array('statuses', many).map((s, i) => statusRecord(new Reader(s, `snapshot.statuses[${i}]`))),
  };
}

/**
 * A trust source answering from a parsed snapshot, like node/snapshot.py
 * ``SnapshotTrustSource``: later duplicates win, status history keeps chain order.
 */
export class SnapshotTrustSource {
  constructor(snapshot) {
    this.snapshot = snapshot;
    this.network = snapshot.network;
    this.block = snapshot.block;
    this.organisations = new Map(snapshot.organisations.map((o) => [o.code, o]));
    this.checkpoints = new Map(snapshot.checkpoints.map((c) => [`${c.province}/${c.index}`, c]));
    this.statuses = new Map();
    for (const record of snapshot.statuses) {
      const key = `${record.province}/${toKey(record.commitment)}`;
      if (!this.statuses.has(key)) this.statuses.set(key, []);
      this.statuses.get(key).push(record);
    }
  }

  organisation(code) {
    return this.organisations.get(code) ?? null;
  }

  checkpoint(province, index) {
    return this.checkpoints.get(`${province}/${index}`) ?? null;
  }

  statusHistory(province, commitment) {
    return this.statuses.get(`${province}/${toKey(commitment)}`) ?? [];
  }
}

function toKey(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
