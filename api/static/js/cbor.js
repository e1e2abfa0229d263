// A tiny CBOR (RFC 8949) codec for the compact bundle form (docs/FORMATS.md "Compact form"):
// unsigned and negative integers, byte and text strings, arrays, maps, null, true and false.
// Anything else (tags, floats, indefinite lengths, trailing bytes) is refused: fail closed.

const MAX_DEPTH = 16;

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }

  take(n) {
    if (this.at + n > this.bytes.length) throw new Error('cbor: truncated');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  argument(info) {
    if (info < 24) return BigInt(info);
    const size = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (size === undefined) throw new Error('cbor: unsupported length encoding');
    let n = 0n;
    for (const b of this.take(size)) n = (n << 8n) | BigInt(b);
    return n;
  }

  length(info) {
    const n = this.argument(info);
    if (n > BigInt(this.bytes.length)) throw new Error('cbor: length beyond input');
    return Number(n);
  }

  item(depth) {
    if (depth > MAX_DEPTH) throw new Error('cbor: nested too deeply');
    const head = this.take(1)[0];
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0:
        return safe(this.argument(info));
      case 1:
        return safe(-1n - this.argument(info));
      case 2:
        return Uint8Array.from(this.take(this.length(info)));
      case 3:
        return new TextDecoder('utf-8', { fatal: true }).decode(this.take(this.length(info)));
      case 4: {
        const n = this.length(info);
        const out = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out = new Map();
        for (let i = 0; i < n; i++) out.set(this.item(depth + 1), this.item(depth + 1));
        return out;
      }
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        throw new Error('cbor: unsupported simple value or float');
      default:
        throw new Error('cbor: tags are not supported');
    }
  }
}

function safe(n) {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Error('cbor: integer beyond 2^53');
  }
  return Number(n);
}

/** Decode exactly one CBOR item filling all of ``bytes``. */
export function decodeCbor(bytes) {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (reader.at !== bytes.length) throw new Error('cbor: trailing bytes');
  return value;
}

function head(major, n) {
  const big = BigInt(n);
  if (big < 24n) return [(major << 5) | Number(big)];
  for (const [info, size] of [
    [24, 1],
    [25, 2],
    [26, 4],
    [27, 8],
  ]) {
    if (big < 1n << BigInt(8 * size)) {
      const out = [(major << 5) | info];
      for (let i = size - 1; i >= 0; i--) out.push(Number((big >> BigInt(8 * i)) & 0xffn));
      return out;
    }
  }
  throw new Error('cbor: integer too large');
}

function encodeInto(value, out) {
  if (value === null) out.push(0xf6);
  else if (value === true) out.push(0xf5);
  else if (value === false) out.push(0xf4);
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error('cbor: only safe integers');
    out.push(...(value >= 0 ? head(0, value) : head(1, -1 - value)));
  } else if (value instanceof Uint8Array) {
    out.push(...head(2, value.length), ...value);
  } else if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value);
    out.push(...head(3, bytes.length), ...bytes);
  } else if (Array.isArray(value)) {
    out.push(...head(4, value.length));
    for (const item of value) encodeInto(item, out);
  } else throw new Error('cbor: unsupported value');
}

/** Encode integers, strings, byte strings, arrays and null as CBOR (shortest heads, as cbor2). */
export function encodeCbor(value) {
  const out = [];
  encodeInto(value, out);
  return Uint8Array.from(out);
}
