// The compact QR form of a bundle (docs/FORMATS.md "Compact form", node/compact.py):
// "CR1:" + Base64url (no padding) of raw DEFLATE of a CBOR array of the bundle's values in a fixed
// order, hex strings as byte strings. Decoding rebuilds the bundle's JSON object, which then goes
// through the same strict reader as a JSON bundle.

import { fromBase64Url, fromHex, toBase64Url, toHex } from './bytes.js';
import { decodeCbor, encodeCbor } from './cbor.js';
import { commitmentOf, fieldHashes } from './commitment.js';
import { CERTIFICATE_KINDS, CERTIFICATE_TYPES, ENTRY_KINDS, FIELD_NAMES_V2, FormatError, SIGNERS, SUITES, fieldNamesOf } from './formats.js';
import { canonicalBytes } from './jcs.js';
import { leafHash, nodeHash } from './merkle.js';
import { parseJson } from './safejson.js';

export const PREFIX = 'CR1:';
const MAX_COMPRESSED = 16 * 1024;
const MAX_DECOMPRESSED = 64 * 1024;
/** A bundle's JSON text larger than this is refused (``json.size``), as in compact.py. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;

async function pump(stream, input, limit) {
  const writer = stream.writable.getWriter();
  writer.write(input).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel();
      throw new Error('too large');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Raw DEFLATE decompression with the browser's DecompressionStream, at most ``limit`` bytes. */
export function inflateRaw(bytes, limit = MAX_DECOMPRESSED) {
  return pump(new DecompressionStream('deflate-raw'), bytes, limit);
}

/** Raw DEFLATE compression with CompressionStream (its bytes may differ from zlib's; the data do not). */
export function deflateRaw(bytes) {
  return pump(new CompressionStream('deflate-raw'), bytes, Infinity);
}

function fail(message, rule = 'compact.structure') {
  throw new FormatError('compact', rule, message);
}

function bytesOf(value, size) {
  if (!(value instanceof Uint8Array) || (size !== undefined && value.length !== size)) {
    fail('expected a byte string');
  }
  return value;
}

function intOf(value) {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail('expected an integer');
  return value;
}

function strOf(value) {
  if (typeof value !== 'string') fail('expected a string');
  return value;
}

function arrayOf(value, length) {
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    fail('unexpected structure');
  }
  return value;
}

/**
 * A signature's JSON from ``[suite index, key id, value]``, plus the signer's index in
 * ``SIGNERS`` for a province's signature (node/core/formats/compact.py ``_signature``).
 */
function signatureJson(array) {
  if (!Array.isArray(array) || (array.length !== 3 && array.length !== 4)) fail('a signature has 3 or 4 values');
  const [suite, keyId, value] = array;
  const out = { suite: option(SUITES, suite), key_id: intOf(keyId), value: toHex(bytesOf(value)) };
  if (array.length === 4) out.signer = option(SIGNERS, array[3]);
  return out;
}

function option(options, value) {
  const index = intOf(value);
  if (index < 0 || index >= options.length) fail('unknown enumeration value');
  return options[index];
}

/** Rebuild the bundle's JSON object from the decoded CBOR array (node/compact.py ``_from_array``). */
function fromArray(array) {
  const [arrayVersion, chainId, contract, fields, entry, proof, anchor] = arrayOf(array, 7);
  // Array version 1: a format-1 bundle; 3: a format-2 bundle (2 is fromArrayV2's, cosigned).
  if (arrayVersion !== 1 && arrayVersion !== 3) fail('unsupported version', 'compact.version');
  const version = arrayVersion === 1 ? 1 : 2;
  const names = fieldNamesOf(version);
  if (arrayOf(fields).length !== names.length) fail('wrong number of fields');
  const fieldsJson = {};
  names.forEach((name, i) => {
    const item = fields[i];
    if (item instanceof Uint8Array) {
      fieldsJson[name] = { hash: toHex(bytesOf(item, 32)) };
    } else {
      const [value, salt] = arrayOf(item, 2);
      fieldsJson[name] = {
        value: name === 'level' ? intOf(value) : strOf(value),
        salt: toHex(bytesOf(salt, 32)),
      };
    }
  });
  const [kind, province, org, number, commitment, links, reason, attributes, signature] = arrayOf(entry, 9);
  const [leafIndex, treeSize, hashes] = arrayOf(proof, 3);
  const [aProvince, cpIndex, aSize, root, block, tx] = arrayOf(anchor, 6);
  return {
    type: 'certreg.bundle',
    version,
    network: { chain_id: intOf(chainId), contract: `0x${toHex(bytesOf(contract, 20))}` },
    fields: fieldsJson,
    entry: {
      v: attributes === null ? 1 : version,
      kind: option(ENTRY_KINDS, kind),
      province: strOf(province),
      organisation_code: strOf(org),
      certificate_number: strOf(number),
      commitment: toHex(bytesOf(commitment, 32)),
      links: arrayOf(links).map((link) => toHex(bytesOf(link, 32))),
      reason: reason === null ? null : intOf(reason),
      attributes:
        attributes === null
          ? null
          : (() => {
              const [date, level, occupation, workType, type] = arrayOf(attributes, version === 2 ? 5 : 4);
              return {
                ...(version === 2 ? { certificate_type: option(CERTIFICATE_TYPES, type) } : {}),
                issue_date: strOf(date),
                level: intOf(level),
                occupation_code: strOf(occupation),
                work_type_code: strOf(workType),
              };
            })(),
      signature:
        signature === null
          ? null
          : signatureJson(signature),
    },
    proof: {
      leaf_index: intOf(leafIndex),
      tree_size: intOf(treeSize),
      hashes: arrayOf(hashes).map((h) => toHex(bytesOf(h, 32))),
    },
    anchor: {
      province: strOf(aProvince),
      checkpoint_index: intOf(cpIndex),
      tree_size: intOf(aSize),
      root: toHex(bytesOf(root, 32)),
      block_number: intOf(block),
      transaction_hash: `0x${toHex(bytesOf(tx, 32))}`,
    },
  };
}

/** The root an inclusion proof leads to from ``leaf`` (node/core/merkle.py ``root_from_inclusion``). */
async function rootFromInclusion(leaf, index, treeSize, proof) {
  if (index >= treeSize) return null;
  let fn = BigInt(index);
  let sn = BigInt(treeSize) - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

const PUBLIC_FIELDS = ['certificate_number', 'organisation_code', 'issue_date', 'level', 'occupation_code', 'work_type_code'];

/**
 * Array version 2, a bundle with its checkpoint's cosignatures (node/compact.py
 * ``_from_array_v2``): the entry's province, organisation, number, attributes and commitment come
 * from the fields, the anchor's province and size from the entry and the proof, its root from the
 * leaf and the proof.
 */
async function fromArrayV2(array) {
  const [, chainId, contract, fields, entry, proof, anchor, witness] = arrayOf(array, 8);
  // Twelve fields: a format-1 bundle; thirteen: format 2, whose type is a public field too.
  const format2 = arrayOf(fields).length === FIELD_NAMES_V2.length;
  const v1 = fromArray([format2 ? 3 : 1, chainId, contract, fields, [0, '', '', '', new Uint8Array(32), [], null, null, null], proof, [
    '',
    0,
    0,
    new Uint8Array(32),
    0,
    new Uint8Array(32),
  ]]);
  const [kind, links, reason, signature] = arrayOf(entry, 4);
  const [cpIndex, block, tx] = arrayOf(anchor, 3);
  const [timestamp, previousSize, cosignatures] = arrayOf(witness, 3);
  const parsed = {};
  for (const [name, f] of Object.entries(v1.fields)) {
    parsed[name] = 'hash' in f ? { redacted: true, hash: fromHex(f.hash) } : { redacted: false, value: f.value, salt: fromHex(f.salt) };
  }
  for (const name of format2 ? [...PUBLIC_FIELDS, 'certificate_type'] : PUBLIC_FIELDS) {
    if (parsed[name].redacted) fail('version 2 needs the public fields and a valid proof');
  }
  const value = (name) => v1.fields[name].value;
  const entryJson = {
    v: format2 ? 2 : 1,
    kind: option(CERTIFICATE_KINDS, kind),
    province: String(value('certificate_number')).slice(5, 7),
    organisation_code: value('organisation_code'),
    certificate_number: value('certificate_number'),
    commitment: toHex(await commitmentOf(Object.values(await fieldHashes(parsed)))),
    links: arrayOf(links).map((link) => toHex(bytesOf(link, 32))),
    reason: reason === null ? null : intOf(reason),
    attributes: {
      ...(format2 ? { certificate_type: value('certificate_type') } : {}),
      issue_date: value('issue_date'),
      level: value('level'),
      occupation_code: value('occupation_code'),
      work_type_code: value('work_type_code'),
    },
    signature: signatureJson(signature),
  };
  let root;
  try {
    root = await rootFromInclusion(
      await leafHash(canonicalBytes(entryJson)),
      v1.proof.leaf_index,
      v1.proof.tree_size,
      v1.proof.hashes.map(fromHex),
    );
  } catch {
    root = null;
  }
  if (root === null) fail('version 2 needs the public fields and a valid proof');
  return {
    ...v1,
    entry: entryJson,
    anchor: {
      province: entryJson.province,
      checkpoint_index: intOf(cpIndex),
      tree_size: v1.proof.tree_size,
      root: toHex(root),
      block_number: intOf(block),
      transaction_hash: `0x${toHex(bytesOf(tx, 32))}`,
    },
    witness: {
      timestamp: intOf(timestamp),
      previous_size: intOf(previousSize),
      cosignatures: arrayOf(cosignatures).map((item) => {
        const [province, sig] = arrayOf(item, 2);
        return { province: String(intOf(province)).padStart(2, '0'), signature: toHex(bytesOf(sig)) };
      }),
    },
  };
}

/** Decode compact text into the bundle's JSON object; throws FormatError (field ``compact``). */
export async function decodeCompact(text) {
  if (!text.startsWith(PREFIX)) fail(`must start with '${PREFIX}'`, 'compact.prefix');
  const body = text.slice(PREFIX.length);
  if (body.length > MAX_COMPRESSED * 2) fail('too long', 'compact.size');
  let packed;
  try {
    packed = fromBase64Url(body);
  } catch (exc) {
    fail(exc.message, 'compact.base64');
  }
  // Nothing may follow the DEFLATE stream (node/core/formats/compact.py ``compact.trailing``).
  // Chromium's DecompressionStream refuses trailing bytes ("Junk found after end of compressed
  // data"); others ignore them, and none says where the stream ended. But the last byte of a
  // stream always holds some of its bits, so the input less its last byte inflates only when
  // that byte was not part of the stream.
  let raw;
  try {
    raw = await inflateRaw(packed);
  } catch (exc) {
    if (/junk|trailing/i.test(exc.message)) fail('data after the DEFLATE stream', 'compact.trailing');
    fail(`cannot inflate: ${exc.message}`, 'compact.encoding');
  }
  const shorter = await inflateRaw(packed.subarray(0, packed.length - 1)).then(
    () => true,
    () => false,
  );
  if (shorter) fail('data after the DEFLATE stream', 'compact.trailing');
  let array;
  try {
    array = decodeCbor(raw);
  } catch (exc) {
    fail(exc.message, 'compact.cbor');
  }
  return Array.isArray(array) && array[0] === 2 ? fromArrayV2(array) : fromArray(array);
}

/** Encode a bundle's JSON object (already checked by parseBundle) as compact text. */
export async function encodeCompact(json) {
  const e = json.entry;
  const array = [
    json.version === 2 ? 3 : 1,
    json.network.chain_id,
    fromHex(json.network.contract.slice(2)),
    fieldNamesOf(json.version).map((name) => {
      const f = json.fields[name];
      return 'hash' in f ? fromHex(f.hash) : [f.value, fromHex(f.salt)];
    }),
    [
      ENTRY_KINDS.indexOf(e.kind),
      e.province,
      e.organisation_code,
      e.certificate_number,
      fromHex(e.commitment),
      e.links.map(fromHex),
      e.reason,
      e.attributes === null
        ? null
        : [
            e.attributes.issue_date,
            e.attributes.level,
            e.attributes.occupation_code,
            e.attributes.work_type_code,
            ...(json.version === 2 ? [CERTIFICATE_TYPES.indexOf(e.attributes.certificate_type)] : []),
          ],
      e.signature === null
        ? null
        : [
            SUITES.indexOf(e.signature.suite),
            e.signature.key_id,
            fromHex(e.signature.value),
            ...(e.signature.signer === undefined ? [] : [SIGNERS.indexOf(e.signature.signer)]),
          ],
    ],
    [json.proof.leaf_index, json.proof.tree_size, json.proof.hashes.map(fromHex)],
    [
      json.anchor.province,
      json.anchor.checkpoint_index,
      json.anchor.tree_size,
      fromHex(json.anchor.root),
      json.anchor.block_number,
      fromHex(json.anchor.transaction_hash.slice(2)),
    ],
  ];
  return PREFIX + toBase64Url(await deflateRaw(encodeCbor(array)));
}

/**
 * A bundle's JSON object from JSON text or compact text (node/compact.py ``parse_bundle_text``).
 * Throws FormatError with field ``bundle`` or ``compact``.
 */
export async function parseBundleText(text) {
  const stripped = text.trim();
  if (stripped.startsWith(PREFIX)) return decodeCompact(stripped);
  return parseJson(stripped, 'bundle', 'bundle.json', { maxBytes: MAX_BUNDLE_BYTES });
}
