"""A running province node, wired together: organisation filing mirrored to the contract,
intake, lifecycle, the anchoring worker, on-chain statuses and bundles (DESIGN.md: the wiring
sits at the top, above ``node`` and ``anchor``)."""
