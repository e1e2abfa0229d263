"""The auditor: replays the consortium chain from genesis, rebuilds every province's log from
its manifests, and reports findings with evidence (docs/AUDIT.md)."""
