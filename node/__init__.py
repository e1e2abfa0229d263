"""certreg's pure core: certificate rules, canonical encoding, commitments, signatures,
the Merkle log, bundles, snapshots and the offline verifier.

Nothing in this package reads the clock, the environment or the network: time comes in as an
argument, so a verifier can run it fully offline.
"""
