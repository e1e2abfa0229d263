"""Signature suites (Ed25519, secp256k1, SM2/SM3) and personal-data encryption at rest."""
