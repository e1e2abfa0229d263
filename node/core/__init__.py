"""certreg's pure core: certificate rules (:mod:`node.core.rules`), formats
(:mod:`node.core.formats`), cryptography (:mod:`node.core.crypto`), the RFC 9162 Merkle log
(:mod:`node.core.merkle`) and the offline verifier (:mod:`node.core.verify`).

Nothing in this package reads the clock, the environment or the network, or keeps process-wide
mutable state: time, calendars and catalogues come in as arguments, so a verifier can run it
fully offline. ``make lint`` (import-linter) keeps SQLAlchemy, web3, FastAPI, threads,
processes and subprocesses out of it.
"""
