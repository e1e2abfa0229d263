// Salted field hashes and the commitment (docs/FORMATS.md "Field hashes and the commitment",
// node/commitment.py): field hash SHA-256(0x02 || salt || JCS([field_path, value])), commitment
// SHA-256(0x03 || the twelve field hashes sorted bytewise).

import { compare, concat } from './bytes.js';
import { sha256 } from './hash.js';
import { canonicalBytes } from './jcs.js';
import { FIELD_NAMES_V2 } from './formats.js';

/** SHA-256(0x02 || salt || JCS([fieldPath, value])). */
export function fieldHash(fieldPath, value, salt) {
  if (salt.length !== 32) throw new Error(`${fieldPath}: salt must be 32 bytes`);
  return sha256(concat(Uint8Array.of(2), salt, canonicalBytes([fieldPath, value])));
}

/** SHA-256(0x03 || sorted field hashes). */
export function commitmentOf(hashes) {
  const sorted = [...hashes].sort(compare);
  for (const h of sorted) if (h.length !== 32) throw new Error('field hash must be 32 bytes');
  return sha256(concat(Uint8Array.of(3), ...sorted));
}

/** Each field's hash (computed for disclosed fields), in FIELD_NAMES order, as an object. */
export async function fieldHashes(fields) {
  const out = {};
  // Format 1 commits twelve fields, format 2 also certificate_type (those present, in order).
  for (const name of FIELD_NAMES_V2) {
    if (!Object.hasOwn(fields, name)) continue;
    const proof = fields[name];
    out[name] = proof.redacted ? proof.hash : await fieldHash(name, proof.value, proof.salt);
  }
  return out;
}
