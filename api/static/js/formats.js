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
/** Certificate types (node/core/certificate.py); format 1 certificates are skill_level. */
export const CERTIFICATE_TYPES = ['skill_level', 'special_ability', 'vocational_qualification'];
/** Format 2 commits the twelve fields and ``certificate_type``. */
export const FIELD_NAMES_V2 = [...FIELD_NAMES, 'certificate_type'];
/** The committed fields of a bundle of format ``version``. */
export function fieldNamesOf(version) {
  return version === 2 ? FIELD_NAMES_V2 : FIELD_NAMES;
}
/** Fields mirrored in the public log entry: a bundle must disclose them (node/bundle.py). */
export const ENTRY_MIRRORED_FIELDS = [
  'certificate_number',
  'organisation_code',
  'issue_date',
  'level',
  'occupation_code',
  'work_type_code',
  'certificate_type',
];
export const ENTRY_KINDS = ['issue', 'correct', 'revoke', 'suspend', 'reinstate', 'delete'];
export const CERTIFICATE_KINDS = ['issue', 'correct'];
export const SUITES = ['ed25519', 'ecdsa-secp256k1', 'sm2-sm3'];
/** ``signature.signer`` of a correction the province signed with its maintenance key. */
export const SIGNERS = ['province'];
/** ``setMemberKey`` purpose of the province's maintenance key: its signature's ``key_id``. */
export const MAINTENANCE_KEY_PURPOSE = 3;
const ORGANISATION_STATUSES = ['active', 'suspended', 'terminated'];
const CERTIFICATE_STATUSES = ['active', 'revoked', 'suspended', 'superseded', 'reinstated'];

const PROVINCE_RE = /^[1-8][0-9]$/;
const ORGANISATION_CODE_RE = /^[YS][0-9]{12}$/;
const CERTIFICATE_NUMBER_RE = /^[YS][0-9]{21}$/;
const NUMBER_PATTERNS = {
  skill_level: CERTIFICATE_NUMBER_RE,
  special_ability: /^[0-9]{15}$/,
  vocational_qualification: /^[0-9A-Z]{6,30}$/,
};
const ANY_NUMBER_RE = /^(?:[YS][0-9]{21}|[0-9]{15}|[0-9A-Z]{6,30})$/;

/** The registry code of a 专项职业能力 examining body (node/core/formats/entry.py). */
export function examiningBodyRegistryCode(bodyCode, province) {
  return `S${bodyCode.slice(0, 4)}${province}${bodyCode.slice(4, 8)}00`;
}
/** The 8-digit examining-body code of such a registry code. */
export function examiningBodyCodeOf(registryCode) {
  return registryCode.slice(1, 5) + registryCode.slice(7, 11);
}
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

export class Reader {
  constructor(value, path) {
    if (!isObject(value)) throw new FormatError(path, 'schema.type', 'must be an object');
    this.value = value;
    this.path = path;
  }

  at(key) {
    return `${this.path}.${key}`;
  }

  keys(required, optional = []) {
    for (const key of [...required].sort()) {
      if (!Object.hasOwn(this.value, key)) {
        throw new FormatError(this.at(key), 'schema.required', 'required key is missing');
      }
    }
    for (const key of Object.keys(this.value).sort()) {
      if (!required.includes(key) && !optional.includes(key)) {
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

export function checkHex(value, path, size) {
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

function fieldProof(r, name, lowestLevel = 1) {
  if (Object.hasOwn(r.value, 'hash')) {
    r.keys(['hash']);
    return { redacted: true, hash: r.hex('hash', 32) };
  }
  r.keys(['salt', 'value']);
  let value;
  if (name === 'level') value = r.integer('value', lowestLevel, 5);
  else {
    value = r.string('value');
    if ([...value].length > 200) {
      throw new FormatError(r.at('value'), 'schema.max_length', 'at most 200 characters');
    }
  }
  return { redacted: false, value, salt: r.hex('salt', 32) };
}

/** The certificate number against the organisation code and province, by type (entry.py). */
function checkNumber(entry, path) {
  const a = entry.attributes;
  const type = a === null ? 'skill_level' : a.type;
  const number = entry.certificateNumber;
  if (a !== null && a.certificateType !== null) {
    const special = type === 'special_ability';
    if (special ? a.level !== 0 : a.level < 1) {
      throw new FormatError(`${path}.attributes.level`, 'entry.level', special ? 'not graded (level 0)' : 'must be a skill level 1-5');
    }
  }
  if (entry.organisationCode.slice(5, 7) !== entry.province) {
    throw new FormatError(`${path}.province`, 'entry.province', 'must equal positions 6-7 of the organisation code');
  }
  const issuer = () =>
    new FormatError(`${path}.certificate_number`, 'entry.issuer', 'positions 1-13 must equal the organisation code');
  if (a === null) {
    if (CERTIFICATE_NUMBER_RE.test(number) && number.slice(0, 13) !== entry.organisationCode) throw issuer();
    return;
  }
  if (!NUMBER_PATTERNS[type].test(number)) {
    throw new FormatError(`${path}.certificate_number`, 'entry.certificate_number', `not a ${type} certificate number`);
  }
  if (type === 'skill_level' && number.slice(0, 13) !== entry.organisationCode) throw issuer();
  if (type === 'special_ability' && entry.organisationCode !== examiningBodyRegistryCode(number.slice(2, 10), entry.province)) {
    throw new FormatError(
      `${path}.certificate_number`,
      'entry.issuer',
      'positions 3-10 must be the examining body filed under the organisation code',
    );
  }
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
  const version = r.raw('v');
  if (version !== 1 && version !== 2) throw new FormatError(r.at('v'), 'entry.version', 'must be one of (1, 2)');
  const kind = r.string('kind');
  if (!ENTRY_KINDS.includes(kind)) {
    throw new FormatError(r.at('kind'), 'entry.kind', `must be one of ${ENTRY_KINDS}`);
  }
  const links = r.array('links').map((link, i) => checkHex(link, `${r.at('links')}[${i}]`, 32));
  let attributes = null;
  if (!r.isNull('attributes')) {
    const a = r.obj('attributes');
    const names = ['issue_date', 'level', 'occupation_code', 'work_type_code'];
    let certificateType = null;
    if (version === 2) {
      a.keys([...names, 'certificate_type']);
      certificateType = a.string('certificate_type');
      if (!CERTIFICATE_TYPES.includes(certificateType)) {
        throw new FormatError(a.at('certificate_type'), 'entry.certificate_type', `must be one of ${CERTIFICATE_TYPES}`);
      }
    } else {
      a.keys(names);
    }
    attributes = {
      issueDate: a.string('issue_date', DATE_RE),
      level: a.integer('level', certificateType === 'special_ability' ? 0 : 1, 5),
      occupationCode: a.string('occupation_code', OCCUPATION_CODE_RE),
      workTypeCode: a.string('work_type_code', WORK_TYPE_CODE_RE),
      certificateType,
      type: certificateType ?? 'skill_level',
    };
  } else if (version !== 1) {
    throw new FormatError(r.at('v'), 'entry.version', 'a status entry is version 1');
  }
  let signature = null;
  if (!r.isNull('signature')) {
    const s = r.obj('signature');
    s.keys(['suite', 'key_id', 'value'], ['signer']);
    const suite = s.string('suite');
    if (!SUITES.includes(suite)) {
      throw new FormatError(s.at('suite'), 'entry.suite', `must be one of ${SUITES}`);
    }
    let signer = null;
    if (Object.hasOwn(s.value, 'signer')) {
      signer = s.string('signer');
      if (!SIGNERS.includes(signer)) throw new FormatError(s.at('signer'), 'entry.signer', `must be one of ${SIGNERS}`);
    }
    signature = { suite, keyId: s.integer('key_id', 0, 2 ** 32 - 1), value: s.hex('value'), signer };
    if (signature.value.length < 1 || signature.value.length > 256) {
      throw new FormatError(s.at('value'), 'entry.signature_size', '1-256 bytes');
    }
    if (signer !== null && (kind !== 'correct' || signature.keyId !== MAINTENANCE_KEY_PURPOSE)) {
      throw new FormatError(
        `${s.at('signer')}`,
        'entry.province_signature',
        `the province signs only corrections, with its maintenance key (key_id ${MAINTENANCE_KEY_PURPOSE})`,
      );
    }
  }
  const reason = r.isNull('reason') ? null : r.integer('reason', 0, 65535);
  const entry = {
    version,
    kind,
    province: r.string('province', PROVINCE_RE),
    organisationCode: r.string('organisation_code', ORGANISATION_CODE_RE),
    certificateNumber: r.string('certificate_number', ANY_NUMBER_RE),
    commitment: r.hex('commitment', 32),
    links,
    reason,
    attributes,
    signature,
  };
  checkNumber(entry, path);
  return entry;
}

/**
 * Parse a bundle object strictly (node/bundle.py ``Bundle.from_json``). Returns the typed bundle;
 * ``bundle.json`` keeps the original object (the entry is hashed from ``bundle.json.entry``).
 */
export function parseBundle(value) {
  const r = new Reader(value, 'bundle');
  r.keys(['type', 'version', 'network', 'fields', 'entry', 'proof', 'anchor'], ['witness']);
  if (r.raw('type') !== 'certreg.bundle') {
    throw new FormatError(r.at('type'), 'bundle.type', "must be 'certreg.bundle'");
  }
  const version = r.raw('version');
  if (version !== 1 && version !== 2) throw new FormatError(r.at('version'), 'bundle.version', 'unsupported version');
  const names = fieldNamesOf(version);
  const f = r.obj('fields');
  f.keys(names);
  const fields = {};
  for (const name of names) fields[name] = fieldProof(f.obj(name), name, version === 2 ? 0 : 1);
  const p = r.obj('proof');
  p.keys(['leaf_index', 'tree_size', 'hashes']);
  const hashes = p
    .array('hashes', MAX_PROOF_HASHES)
    .map((h, i) => checkHex(h, `${p.at('hashes')}[${i}]`, 32));
  const a = r.obj('anchor');
  a.keys(['province', 'checkpoint_index', 'tree_size', 'root', 'block_number', 'transaction_hash']);
  const entry = parseEntry(r.raw('entry'), 'bundle.entry');
  if (entry.version !== version) {
    throw new FormatError('bundle.entry.v', 'bundle.version', `a version ${version} bundle has a v${version} entry`);
  }
  return {
    json: value,
    version,
    network: network(r.obj('network')),
    fields,
    entry,
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
    witness: Object.hasOwn(value, 'witness') ? parseWitness(r.raw('witness'), r.at('witness')) : null,
  };
}

/** A province's signature ``{province, signature}`` (node/core/formats/trust.py). */
export function parseProvinceSignature(value, path) {
  const r = new Reader(value, path);
  r.keys(['province', 'signature']);
  const signature = r.hex('signature');
  if (signature.length < 1 || signature.length > 128) {
    throw new FormatError(r.at('signature'), 'schema.hex_size', '1-128 bytes');
  }
  return { province: r.string('province', PROVINCE_RE), signature };
}

/** A bundle's witness part: the checkpoint's time, previous size and cosignatures. */
function parseWitness(value, path) {
  const r = new Reader(value, path);
  r.keys(['timestamp', 'previous_size', 'cosignatures']);
  const cosignatures = r
    .array('cosignatures', 64)
    .map((c, i) => parseProvinceSignature(c, `${r.at('cosignatures')}[${i}]`));
  const provinces = cosignatures.map((c) => c.province);
  if (!cosignatures.length || new Set(provinces).size !== provinces.length) {
    throw new FormatError(r.at('cosignatures'), 'bundle.witness', 'one or more, each province once');
  }
  return {
    timestamp: r.integer('timestamp'),
    previousSize: r.integer('previous_size', 0, MAX_UINT64),
    cosignatures,
  };
}

function organisationKey(kr) {
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
}

function organisation(r, version) {
  r.keys(['code', 'province', 'status', 'scope_hash', 'keys', ...(version >= 2 ? ['history'] : [])]);
  const status = r.string('status');
  if (!ORGANISATION_STATUSES.includes(status)) {
    throw new FormatError(r.at('status'), 'snapshot.organisation_status', 'unknown status');
  }
  const keys = r.array('keys', 1000).map((k, i) => organisationKey(new Reader(k, `${r.at('keys')}[${i}]`)));
  return {
    code: r.string('code', ORGANISATION_CODE_RE),
    province: r.string('province', PROVINCE_RE),
    status,
    scopeHash: r.hex('scope_hash', 32),
    keys,
    history:
      version >= 2
        ? r.array('history', 100000).map((item, i) => {
            const hr = new Reader(item, `${r.at('history')}[${i}]`);
            hr.keys(['timestamp', 'status', 'scope_hash']);
            const state = hr.string('status');
            if (!ORGANISATION_STATUSES.includes(state)) {
              throw new FormatError(hr.at('status'), 'snapshot.organisation_status', 'unknown status');
            }
            return { timestamp: hr.integer('timestamp'), status: state, scopeHash: hr.hex('scope_hash', 32) };
          })
        : [],
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

const V1_SNAPSHOT_KEYS = ['type', 'version', 'network', 'block', 'members', 'organisations', 'checkpoints', 'statuses'];
const V2_SNAPSHOT_KEYS = [...V1_SNAPSHOT_KEYS, 'time', 'scopes', 'calendar', 'audits', 'signatures'];

function calendarDays(y, key, year, weekend) {
  return new Set(
    y.array(key, 366).map((text, j) => {
      const match = typeof text === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
      let ok = match !== null && Number(match[1]) === year;
      if (ok) {
        const day = new Date(Date.UTC(year, Number(match[2]) - 1, Number(match[3])));
        ok = day.getUTCMonth() === Number(match[2]) - 1 && day.getUTCDate() === Number(match[3]);
        ok = ok && [0, 6].includes(day.getUTCDay()) === weekend;
      }
      if (!ok) throw new FormatError(`${y.at(key)}[${j}]`, 'snapshot.calendar', 'not a day of that kind in that year');
      return text;
    }),
  );
}

/** The working-day calendar a version 2 snapshot carries (node/core/formats/snapshot.py). */
function parseCalendar(r) {
  r.keys(['years']);
  const years = [];
  r.array('years', 1000).forEach((item, i) => {
    const y = new Reader(item, `${r.at('years')}[${i}]`);
    y.keys(['year', 'provisional', 'holidays', 'working_weekends']);
    const year = y.integer('year', 1900, 2200);
    if (years.length && year !== years[years.length - 1].year + 1) {
      throw new FormatError(y.at('year'), 'snapshot.calendar', 'years must follow each other');
    }
    if (typeof y.raw('provisional') !== 'boolean') {
      throw new FormatError(y.at('provisional'), 'schema.type', 'must be true or false');
    }
    years.push({
      year,
      holidays: calendarDays(y, 'holidays', year, false),
      workingWeekends: calendarDays(y, 'working_weekends', year, true),
    });
  });
  return {
    years,
    /** Whether the calendar covers the ``YYYY-MM-DD`` day. */
    covers(day) {
      const year = Number(day.slice(0, 4));
      return years.length > 0 && years[0].year <= year && year <= years[years.length - 1].year;
    },
    isWorkingDay(day) {
      const entry = years[Number(day.slice(0, 4)) - years[0].year];
      const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
      if (weekday === 0 || weekday === 6) return entry.workingWeekends.has(day);
      return !entry.holidays.has(day);
    },
  };
}

function parseScope(r) {
  r.keys(['scope_hash', 'scope']);
  const items = r.array('scope', 10000).map((item, i) => {
    const ir = new Reader(item, `${r.at('scope')}[${i}]`);
    ir.keys(['occupation_code', 'levels'], ['work_type_code', 'effective_from', 'effective_until']);
    const date = (key) => (Object.hasOwn(item, key) ? ir.string(key, DATE_RE) : null);
    return {
      occupationCode: ir.string('occupation_code', OCCUPATION_CODE_RE),
      workTypeCode: Object.hasOwn(item, 'work_type_code') ? ir.string('work_type_code', WORK_TYPE_CODE_RE) : null,
      levels: ir.array('levels', 5).map((level, j) => checkInteger(level, `${ir.at('levels')}[${j}]`, 1, 5)),
      // The days the item is in force, [effective_from, effective_until) (null: unbounded).
      effectiveFrom: date('effective_from'),
      effectiveUntil: date('effective_until'),
    };
  });
  return { scopeHash: r.hex('scope_hash', 32), items };
}

function parseAudit(r) {
  r.keys(['auditor', 'content_hash', 'cid', 'block_number', 'transaction_hash', 'statement']);
  const s = r.obj('statement');
  s.keys(['type', 'version', 'network', 'province', 'checkpoint_index', 'tree_size', 'root', 'result', 'findings']);
  if (s.raw('type') !== 'certreg.audit-statement' || s.raw('version') !== 1) {
    throw new FormatError(s.at('type'), 'audit_statement.type', 'not a version 1 statement');
  }
  network(s.obj('network'));
  const findings = s.array('findings', 100000).map((item, i) => {
    const f = new Reader(item, `${s.at('findings')}[${i}]`);
    f.keys(['leaf_index', 'kind', 'commitment']);
    return {
      leafIndex: f.integer('leaf_index', 0, MAX_UINT64),
      kind: f.string('kind', /^[a-z_]{1,40}\.[a-z_.]{1,80}$/),
      commitment: f.hex('commitment', 32),
    };
  });
  if (s.raw('result') !== (findings.length ? 'findings' : 'clean')) {
    throw new FormatError(s.at('result'), 'audit_statement.result', 'clean exactly when there is no finding');
  }
  return {
    json: r.raw('statement'),
    auditor: r.hex0x('auditor', 20),
    contentHash: r.hex('content_hash', 32),
    cid: r.string('cid'),
    province: s.string('province', PROVINCE_RE),
    checkpointIndex: s.integer('checkpoint_index', 0, MAX_UINT64),
    treeSize: s.integer('tree_size', 1, MAX_UINT64),
    root: s.hex('root', 32),
    findings,
  };
}

/** Parse a snapshot strictly, version 1 or 2 (node/core/formats/snapshot.py ``Snapshot.from_json``). */
export function parseSnapshot(value) {
  const r = new Reader(value, 'snapshot');
  const version = Object.hasOwn(value, 'version') ? value.version : undefined;
  if (version !== 1 && version !== 2) {
    throw new FormatError(r.at('version'), 'snapshot.version', 'unsupported version');
  }
  r.keys(version === 2 ? V2_SNAPSHOT_KEYS : V1_SNAPSHOT_KEYS);
  if (r.raw('type') !== 'certreg.snapshot') {
    throw new FormatError(r.at('type'), 'snapshot.type', "must be 'certreg.snapshot'");
  }
  const b = r.obj('block');
  b.keys(['number', 'hash', 'timestamp']);
  const block = { number: b.integer('number'), hash: b.hex0x('hash', 32), timestamp: b.integer('timestamp') };
  const many = 1e8;
  let extras = null;
  let signatures = [];
  if (version === 2) {
    extras = {
      time: r.integer('time'),
      scopes: r.array('scopes', many).map((item, i) => parseScope(new Reader(item, `snapshot.scopes[${i}]`))),
      calendar: r.isNull('calendar') ? null : parseCalendar(r.obj('calendar')),
      audits: r.array('audits', many).map((item, i) => parseAudit(new Reader(item, `snapshot.audits[${i}]`))),
    };
    signatures = r.array('signatures', 128).map((item, i) => parseProvinceSignature(item, `snapshot.signatures[${i}]`));
  }
  const members = r.array('members', 1000).map((m, i) => {
    const mr = new Reader(m, `snapshot.members[${i}]`);
    mr.keys(['province', 'operators'], ['maintenance_keys']);
    mr.array('operators', 100).forEach((op, j) => {
      new Reader({ op }, `${mr.at('operators')}[${j}]`).hex0x('op', 20);
    });
    let maintenanceKeys = [];
    if (Object.hasOwn(mr.value, 'maintenance_keys')) {
      maintenanceKeys = mr
        .array('maintenance_keys', 1000)
        .map((k, j) => organisationKey(new Reader(k, `${mr.at('maintenance_keys')}[${j}]`)));
      if (!maintenanceKeys.length) {
        throw new FormatError(mr.at('maintenance_keys'), 'snapshot.maintenance_keys', 'omitted when empty');
      }
    }
    return { province: mr.string('province', PROVINCE_RE), maintenanceKeys };
  });
  return {
    json: value,
    version,
    network: network(r.obj('network')),
    block,
    time: extras === null ? block.timestamp : extras.time,
    members,
    organisations: r
      .array('organisations', many)
      .map((o, i) => organisation(new Reader(o, `snapshot.organisations[${i}]`), version)),
    checkpoints: r.array('checkpoints', many).map((c, i) => checkpoint(new Reader(c, `snapshot.checkpoints[${i}]`))),
    statuses: r.array('statuses', many).map((s, i) => statusRecord(new Reader(s, `snapshot.statuses[${i}]`))),
    extras,
    signatures,
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
    this.time = snapshot.time;
    this.calendar = snapshot.extras === null ? null : snapshot.extras.calendar;
    this.hasHistory = snapshot.extras !== null;
    this.organisations = new Map(snapshot.organisations.map((o) => [o.code, o]));
    this.checkpoints = new Map(snapshot.checkpoints.map((c) => [`${c.province}/${c.index}`, c]));
    this.byProvince = new Map();
    for (const c of snapshot.checkpoints) {
      if (!this.byProvince.has(c.province)) this.byProvince.set(c.province, []);
      this.byProvince.get(c.province).push(c);
    }
    this.statuses = new Map();
    for (const record of snapshot.statuses) {
      const key = `${record.province}/${toKey(record.commitment)}`;
      if (!this.statuses.has(key)) this.statuses.set(key, []);
      this.statuses.get(key).push(record);
    }
    const extras = snapshot.extras;
    this.scopes = new Map((extras === null ? [] : extras.scopes).map((s) => [toKey(s.scopeHash), s]));
    this.audits = new Map();
    for (const audit of extras === null ? [] : extras.audits) {
      for (const finding of audit.findings) {
        const key = `${audit.province}/${finding.leafIndex}`;
        if (!this.audits.has(key)) this.audits.set(key, []);
        this.audits.get(key).push([audit, finding]);
      }
    }
  }

  organisation(code) {
    return this.organisations.get(code) ?? null;
  }

  /** The consortium member ``province`` with its maintenance keys, or null. */
  member(province) {
    return this.snapshot.members.find((m) => m.province === province) ?? null;
  }

  checkpoint(province, index) {
    return this.checkpoints.get(`${province}/${index}`) ?? null;
  }

  /** The province's first checkpoint whose tree holds the leaf (the one that anchored it). */
  firstCheckpointWith(province, leafIndex) {
    return (this.byProvince.get(province) ?? []).find((c) => c.treeSize > leafIndex) ?? null;
  }

  scope(scopeHash) {
    return this.scopes.get(toKey(scopeHash)) ?? null;
  }

  findings(province, leafIndex) {
    return this.audits.get(`${province}/${leafIndex}`) ?? [];
  }

  statusHistory(province, commitment) {
    return this.statuses.get(`${province}/${toKey(commitment)}`) ?? [];
  }
}

function toKey(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
