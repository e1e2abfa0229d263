"""Database-bound services of a province node that never touch the chain: intake (one by one
and in worker processes), lifecycle changes, screening review and bundles."""
