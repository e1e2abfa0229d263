"""The chain adapter: deploys, reads and writes the consortium contract through web3.py."""
