// RFC 8785 canonical JSON (JCS) for the values certreg hashes: strings, safe integers, null,
// arrays and objects (docs/FORMATS.md, notation). JCS serialises like ECMAScript's JSON.stringify
// with object keys sorted by UTF-16 code units, which is what this does; it refuses what JCS
// cannot express (non-integers here, lone surrogates, which UTF-8 cannot carry).

function check(value) {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error('jcs: only safe integers are used');
    return;
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new Error('jcs: lone surrogate');
    return;
  }
  if (Array.isArray(value)) {
    value.forEach(check);
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      check(k);
      check(v);
    }
    return;
  }
  throw new Error('jcs: unsupported value');
}

function serialise(value) {
  if (Array.isArray(value)) return `[${value.map(serialise).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Sorted by UTF-16 code units (the default sort); built by hand because JavaScript objects
    // list integer-like keys first whatever their insertion order.
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${serialise(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The canonical JSON text of ``value``. */
export function canonicalJson(value) {
  check(value);
  return serialise(value);
}

/** The canonical JSON of ``value`` as UTF-8 bytes. */
export function canonicalBytes(value) {
  return new TextEncoder().encode(canonicalJson(value));
}
