// RFC 9162 §2.1 Merkle tree verification (node/merkle.py): leaf hash SHA-256(0x00 || data), node
// hash SHA-256(0x01 || left || right), inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs.
// Checks throw VerificationFailed; they never return false.

import { concat, equal } from './bytes.js';
import { sha256 } from './hash.js';

/** A proof or signature did not verify. */
export class VerificationFailed extends Error {}

const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** SHA-256(0x00 || data). */
export function leafHash(data) {
  return sha256(concat(LEAF, data));
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concat(NODE, left, right));
}

function checkHash(name, value) {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new VerificationFailed(`${name} must be a 32-byte hash`);
  }
}

/** Sizes and indices as BigInt (up to 2^64 - 1, as in the tlog corpus): safe integers or BigInts. */
function size(value) {
  if (typeof value === 'bigint' ? value < 0n : !Number.isSafeInteger(value) || value < 0) {
    throw new VerificationFailed('index and tree sizes must be non-negative integers');
  }
  return BigInt(value);
}

const odd = (n) => (n & 1n) === 1n;
const half = (n) => n >> 1n;

/** Verify that ``leaf`` is leaf ``index`` of the tree of ``treeSize`` with ``root``. */
export async function verifyInclusion(leaf, index, treeSize, proof, root) {
  checkHash('leaf hash', leaf);
  checkHash('root', root);
  proof.forEach((node) => checkHash('proof node', node));
  index = size(index);
  treeSize = size(treeSize);
  if (index >= treeSize) throw new VerificationFailed(`leaf index ${index} is outside a tree of size ${treeSize}`);
  let fn = index;
  let sn = treeSize - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new VerificationFailed('inclusion proof is longer than the path to the root');
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0n) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0n) throw new VerificationFailed('inclusion proof is shorter than the path to the root');
  if (!equal(r, root)) throw new VerificationFailed('inclusion proof does not lead to the root');
}

/**
 * Verify that the tree of ``size2``/``root2`` extends the tree of ``size1``/``root1``. As in the
 * conformance corpus (tests/vectors/tlog/README.md): a proof from size 0 is refused, equal sizes
 * need an empty proof and equal roots.
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  size1 = size(size1);
  size2 = size(size2);
  if (size2 < size1) throw new VerificationFailed(`size2 ${size2} is smaller than size1 ${size1}`);
  if (size1 === 0n) throw new VerificationFailed('a consistency proof from size 0 proves nothing');
  if (size1 === size2) {
    if (proof.length) throw new VerificationFailed('a proof between equal sizes must be empty');
    if (!equal(root1, root2)) throw new VerificationFailed('roots differ for equal tree sizes');
    return;
  }
  checkHash('root1', root1);
  checkHash('root2', root2);
  proof.forEach((node) => checkHash('proof node', node));
  if (!proof.length) throw new VerificationFailed('consistency proof is empty');
  const path = [...proof];
  // size1 is a power of two: its root starts the path.
  if ((size1 & (size1 - 1n)) === 0n) path.unshift(root1);
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new VerificationFailed('consistency proof is longer than needed');
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0n) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0n) throw new VerificationFailed('consistency proof is shorter than needed');
  if (!equal(fr, root1)) throw new VerificationFailed('consistency proof does not lead to root1');
  if (!equal(sr, root2)) throw new VerificationFailed('consistency proof does not lead to root2');
}
