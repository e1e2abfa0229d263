"""Development tooling: the local consortium (``certreg dev up``), the synthetic data set, the
walkthrough, the demo and the sample, and launchers of the local servers (anvil, js-ipfs)."""
