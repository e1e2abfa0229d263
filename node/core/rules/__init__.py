"""The national and provincial rules a certificate must meet: certificate numbers, ID numbers,
codes, filed scope, working-day deadlines, reasons, screening (docs/DOMAIN.md cites each)."""
