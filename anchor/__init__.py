"""The chain adapter: the JSON-RPC transport and the typed binding of the consortium contract
(web3.py), manifests on IPFS, snapshots from the chain's events, on-chain statuses and the
anchoring worker."""
