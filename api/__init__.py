"""The HTTP API and the web verification page (built on node and anchor)."""
