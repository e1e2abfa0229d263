// Byte helpers shared by the verifier modules: hex (lowercase, as pinned in docs/FORMATS.md),
// concatenation, comparison and big-endian integers. No dependencies, browser and Node alike.

const HEX_RE = /^(?:[0-9a-f]{2})*$/;

/** Lowercase hex of bytes, no prefix. */
export function toHex(bytes) {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of lowercase, even-length hex; throws on anything else (the formats allow one spelling). */
export function fromHex(text) {
  if (typeof text !== 'string' || !HEX_RE.test(text)) throw new Error('not lowercase hex');
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Whether text is lowercase, even-length hex. */
export function isHex(text) {
  return typeof text === 'string' && HEX_RE.test(text);
}

/** Concatenate byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte-for-byte equality. */
export function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Bytewise comparison for sorting (like Python's bytes ordering). */
export function compare(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Unsigned big-endian integer of bytes. */
export function toBigInt(bytes) {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Unsigned little-endian integer of bytes. */
export function toBigIntLE(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** ``n`` as ``size`` big-endian bytes; throws if it does not fit. */
export function fromBigInt(n, size) {
  if (n < 0n || n >= 1n << BigInt(8 * size)) throw new Error('integer does not fit');
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** UTF-8 bytes of a string. */
export function utf8(text) {
  return new TextEncoder().encode(text);
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/** Base64url without padding. */
export function toBase64Url(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += B64URL[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Decode Base64url without padding; strict alphabet (fail closed). */
export function fromBase64Url(text) {
  if (!B64URL_RE.test(text) || text.length % 4 === 1) throw new Error('must be unpadded Base64url');
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    value = (value << 6) | B64URL.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  // Canonical only: the bits left over after the last whole byte must be zero.
  if (bits > 0 && (value & ((1 << bits) - 1)) !== 0) throw new Error('not canonical Base64url (unused bits)');
  return out;
}
