// The three signature suites of docs/FORMATS.md "Signatures", mirroring node/signatures.py:
//   ed25519          WebCrypto Ed25519 (where the browser has it, else @noble/curves), plus the
//                    checks OpenSSL skips: small-order public keys and S >= L are refused;
//   ecdsa-secp256k1  @noble/curves over SHA-256, SEC1 compressed keys, r||s with low s;
//   sm2-sm3          GB/T 32918.2 §7 over @noble/curves' Weierstrass arithmetic with the SM2
//                    recommended curve (GB/T 32918.5) and our SM3, default user ID 1234567812345678.
// ``verifySignature`` resolves on success and throws VerificationFailed otherwise.

import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { weierstrass } from '@noble/curves/abstract/weierstrass.js';

import { concat, fromBigInt, toBigInt, toBigIntLE, utf8 } from './bytes.js';
import { sm3 } from './hash.js';
import { VerificationFailed } from './merkle.js';

/** Domain-separation prefix of every signed message. */
export const SIGNING_DOMAIN = utf8('certreg/v1/commitment');

/** ``"certreg/v1/commitment" || chain_id (32 bytes BE) || contract (20) || commitment (32)``. */
export function signingMessage(chainId, contract, commitment) {
  if (!Number.isSafeInteger(chainId) && typeof chainId !== 'bigint') throw new Error('chain id must be an integer');
  if (contract.length !== 20) throw new Error('contract address must be 20 bytes');
  if (commitment.length !== 32) throw new Error('commitment must be 32 bytes');
  return concat(SIGNING_DOMAIN, fromBigInt(BigInt(chainId), 32), contract, commitment);
}

const SUITE_LENGTHS = { ed25519: 32, 'ecdsa-secp256k1': 33, 'sm2-sm3': 65 };

// Ed25519 (RFC 8032 §5.1): field prime and group order.
const ED_P = 2n ** 255n - 19n;
const ED_L = 2n ** 252n + 0x14def9dea2f79cd65812631a5cf5d3edn;

function modPow(base, exp, mod) {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

function sqrtModP(a) {
  let root = modPow(a, (ED_P + 3n) / 8n, ED_P);
  if ((root * root) % ED_P !== a % ED_P) root = (root * modPow(2n, (ED_P - 1n) / 4n, ED_P)) % ED_P;
  if ((root * root) % ED_P !== a % ED_P) return null;
  return root;
}

/** y-coordinates of the eight small-order points of edwards25519 (as node/signatures.py). */
function smallOrderYs() {
  const d = (((-121665n * modPow(121666n, ED_P - 2n, ED_P)) % ED_P) + ED_P) % ED_P;
  const ys = new Set([1n, ED_P - 1n, 0n]);
  const root = sqrtModP((1n + d) % ED_P);
  const dInv = modPow(d, ED_P - 2n, ED_P);
  for (const ySquared of [((-1n + root + ED_P) * dInv) % ED_P, ((-1n - root + 2n * ED_P) * dInv) % ED_P]) {
    const y = sqrtModP(ySquared);
    if (y !== null) {
      ys.add(y);
      ys.add(ED_P - y);
    }
  }
  return ys;
}

const ED_SMALL_ORDER_YS = smallOrderYs();

let webCryptoEd25519;

/** Whether this browser's WebCrypto verifies Ed25519 (Chromium 137+, Firefox 129+, Node 20). */
export async function hasWebCryptoEd25519() {
  if (webCryptoEd25519 === undefined) {
    try {
      await globalThis.crypto.subtle.importKey('raw', ed25519.Point.BASE.toBytes(), { name: 'Ed25519' }, false, ['verify']);
      webCryptoEd25519 = true;
    } catch {
      webCryptoEd25519 = false;
    }
  }
  return webCryptoEd25519;
}

/** Which Ed25519 implementation ``verifySignature`` uses: 'auto', 'webcrypto' or 'noble'. */
export const options = { ed25519: 'auto' };

async function verifyEd25519(publicKey, message, signature) {
  const y = toBigIntLE(publicKey) & ((1n << 255n) - 1n);
  if (ED_SMALL_ORDER_YS.has(y % ED_P)) throw new VerificationFailed('ed25519: public key has small order');
  if (toBigIntLE(signature.subarray(32)) >= ED_L) throw new VerificationFailed('ed25519: S is not reduced modulo L');
  const engine = options.ed25519 === 'auto' ? ((await hasWebCryptoEd25519()) ? 'webcrypto' : 'noble') : options.ed25519;
  let ok = false;
  if (engine === 'webcrypto') {
    try {
      const key = await globalThis.crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
      ok = await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, key, signature, message);
    } catch {
      ok = false;
    }
  } else {
    try {
      ok = ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new VerificationFailed('ed25519: signature does not verify');
}

// secp256k1 group order (SEC 2 §2.4.1).
const SECP_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function verifySecp256k1(publicKey, message, signature) {
  if (publicKey[0] !== 0x02 && publicKey[0] !== 0x03) {
    throw new VerificationFailed('ecdsa-secp256k1: public key must be SEC1 compressed');
  }
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32));
  if (!(r >= 1n && r < SECP_N && s >= 1n && s < SECP_N)) throw new VerificationFailed('ecdsa-secp256k1: r or s out of range');
  if (s > SECP_N / 2n) throw new VerificationFailed('ecdsa-secp256k1: high s');
  let ok = false;
  try {
    ok = secp256k1.verify(signature, message, publicKey, { prehash: true, lowS: true, format: 'compact' });
  } catch {
    throw new VerificationFailed('ecdsa-secp256k1: public key is not a curve point');
  }
  if (!ok) throw new VerificationFailed('ecdsa-secp256k1: signature does not verify');
}

// The SM2 recommended curve (GB/T 32918.5-2017).
const SM2 = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
};
const SM2Point = weierstrass(SM2);
/** GM/T 0009 default user ID. */
export const SM2_USER_ID = utf8('1234567812345678');

/** Z = SM3(ENTL || ID || a || b || Gx || Gy || xA || yA) (GB/T 32918.2 §5.5). */
export function sm2Z(publicKey, userId = SM2_USER_ID) {
  const entl = userId.length * 8;
  return sm3(
    concat(
      Uint8Array.of(entl >> 8, entl & 0xff),
      userId,
      fromBigInt(SM2.a, 32),
      fromBigInt(SM2.b, 32),
      fromBigInt(SM2.Gx, 32),
      fromBigInt(SM2.Gy, 32),
      publicKey.subarray(1, 33),
      publicKey.subarray(33, 65),
    ),
  );
}

function verifySm2(publicKey, message, signature) {
  if (publicKey[0] !== 0x04) throw new VerificationFailed('sm2-sm3: public key must be 04 || x || y');
  let point;
  try {
    point = SM2Point.fromBytes(publicKey);
    point.assertValidity();
  } catch {
    throw new VerificationFailed('sm2-sm3: public key is not a curve point');
  }
  const r = toBigInt(signature.subarray(0, 32));
  const s = toBigInt(signature.subarray(32));
  // GB/T 32918.2 §7.1 B1-B2: r, s in [1, n-1].
  if (!(r >= 1n && r < SM2.n && s >= 1n && s < SM2.n)) throw new VerificationFailed('sm2-sm3: r or s out of range');
  // B3-B4: e = SM3(Z || M).
  const e = toBigInt(sm3(concat(sm2Z(publicKey), message)));
  // B5: t = (r + s) mod n, t != 0.
  const t = (r + s) % SM2.n;
  if (t === 0n) throw new VerificationFailed('sm2-sm3: t = 0');
  // B6: (x1, y1) = [s]G + [t]P.
  const sum = SM2Point.BASE.multiply(s).add(point.multiply(t));
  if (sum.is0()) throw new VerificationFailed('sm2-sm3: point at infinity');
  // B7: R = (e + x1) mod n must equal r.
  if ((e + sum.toAffine().x) % SM2.n !== r) throw new VerificationFailed('sm2-sm3: signature does not verify');
}

/** Verify ``signature`` of ``message`` under ``publicKey`` in ``suite``; throws VerificationFailed. */
export async function verifySignature(suite, publicKey, message, signature) {
  const keyLength = SUITE_LENGTHS[suite];
  if (keyLength === undefined) throw new VerificationFailed(`unknown suite ${suite}`);
  if (publicKey.length !== keyLength) throw new VerificationFailed(`${suite}: public key must be ${keyLength} bytes`);
  if (signature.length !== 64) throw new VerificationFailed(`${suite}: signature must be 64 bytes`);
  if (suite === 'ed25519') return verifyEd25519(publicKey, message, signature);
  if (suite === 'ecdsa-secp256k1') return verifySecp256k1(publicKey, message, signature);
  return verifySm2(publicKey, message, signature);
}
