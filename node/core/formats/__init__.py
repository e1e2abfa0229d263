"""The pinned formats (docs/FORMATS.md): canonical JSON, commitments, log entries, bundles,
snapshots, the compact QR form and the issuers' submission rows."""
