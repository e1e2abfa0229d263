#!/usr/bin/env bash
# Installs everything the project needs from the package registries (PyPI, npm).
# Idempotent: safe to run again. Creates the virtual environment at .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
if [ -f package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
fi
