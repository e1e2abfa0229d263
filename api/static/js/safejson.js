// The bounded JSON reader for untrusted text (node/core/safejson.py, docs/THREAT-MODEL.md
// "Bounded parsing"): the same limits and the same rule ids, so both verifiers give the same
// result on the same text. JSON.parse alone keeps the last of two equal keys, turns a 400-digit
// integer into a float, and accepts lone surrogates; a scan before it refuses those, without
// recursion, and bounds the nesting depth. Messages never quote the input.

import { FormatError } from './formats.js';

export const MAX_BYTES = 16 * 1024 * 1024;
export const MAX_DEPTH = 32;
export const MAX_INTEGER_DIGITS = 80;
/** A snapshot file larger than this is refused (node/core/formats/snapshot.py MAX_SNAPSHOT_BYTES). */
export const MAX_SNAPSHOT_BYTES = 512 * 1024 * 1024;

const NUMBER_RE = /-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The end (exclusive) of the string literal starting at ``start`` (a '"'), or -1. */
function stringEnd(text, start) {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

function decodeString(literal) {
  try {
    return JSON.parse(literal);
  } catch {
    return null; // a syntax error: JSON.parse of the whole text reports it
  }
}

/**
 * Check untrusted JSON text within bounds: size (UTF-8 bytes), nesting depth, duplicate keys,
 * number literal length and lone surrogates; throws FormatError at ``field`` with the rule ids of
 * node/core/safejson.py. Syntax is left to JSON.parse.
 */
export function checkJson(text, field, { maxBytes = MAX_BYTES, maxDepth = MAX_DEPTH, maxDigits = MAX_INTEGER_DIGITS } = {}) {
  if (text.length > maxBytes || new TextEncoder().encode(text).length > maxBytes) {
    throw new FormatError(field, 'json.size', `larger than ${maxBytes} bytes`);
  }
  // Each open level: null for an array, {keys, expectKey} for an object.
  const stack = [];
  let deepest = 0;
  // The depth check comes first (as in Python), so scan for it before the other rules.
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end < 0) break;
      i = end - 1;
    } else if (c === '[' || c === '{') {
      depth += 1;
      if (depth > deepest) deepest = depth;
      if (deepest > maxDepth) throw new FormatError(field, 'json.depth', `nested deeper than ${maxDepth} levels`);
    } else if (c === ']' || c === '}') depth -= 1;
  }
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    const top = stack.length ? stack[stack.length - 1] : undefined;
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end < 0) return;
      const value = decodeString(text.slice(i, end));
      if (typeof value === 'string') {
        if (LONE_SURROGATE_RE.test(value)) {
          throw new FormatError(field, 'json.surrogate', 'a string holds a lone UTF-16 surrogate');
        }
        if (top && top.expectKey) {
          if (top.keys.has(value)) throw new FormatError(field, 'json.duplicate_key', 'an object names one key twice');
          top.keys.add(value);
          top.expectKey = false;
        }
      }
      i = end;
    } else if (c === '{') {
      stack.push({ keys: new Set(), expectKey: true });
      i++;
    } else if (c === '[') {
      stack.push(null);
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === ',') {
      if (top) top.expectKey = true;
      i++;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER_RE.lastIndex = i;
      const match = NUMBER_RE.exec(text);
      const literal = match ? match[0] : c;
      const integer = /^-?[0-9]+$/.test(literal);
      if (integer ? literal.replace('-', '').length > maxDigits : literal.length > maxDigits) {
        throw new FormatError(
          field,
          'json.number',
          integer ? `an integer has more than ${maxDigits} digits` : `a number literal is longer than ${maxDigits}`,
        );
      }
      i += literal.length;
    } else i++;
  }
}

/** JSON.parse within bounds (see checkJson); a syntax error is ``syntaxRule`` at ``field``. */
export function parseJson(text, field, syntaxRule = 'json.syntax', limits = {}) {
  checkJson(text, field, limits);
  try {
    return JSON.parse(text);
  } catch {
    throw new FormatError(field, syntaxRule, 'not valid JSON');
  }
}
