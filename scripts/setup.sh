#!/usr/bin/env bash
# Installs everything the project needs from the package registries (PyPI, npm).
# Idempotent: safe to run again. Creates the virtual environment at .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
# PostgreSQL server binaries: the storage tests start a throwaway cluster from initdb/pg_ctl.
# Debian puts them in /usr/lib/postgresql/<version>/bin, off PATH; the tests look there too.
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup: PostgreSQL binaries found"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: initdb not found; installing PostgreSQL: apt-get install postgresql"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
else
  echo "setup: initdb not found and not root: install PostgreSQL (apt-get install postgresql)" \
    "or set CERTREG_TEST_POSTGRES_URL for the storage tests" >&2
fi
# Browser tests (tests/web, docs/WEB.md): Debian's headless Chromium with its driver, poppler
# (pdftoppm, pdftotext) and zbar (zbarimg) to read the printed certificate, a Kai font for the page.
# poppler-data holds the Adobe-GB1 CMaps: without it pdftotext cannot read the PDF's Chinese
# (STSong-Light) text; it is only a Recommends of poppler-utils, so it is named here.
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
  && command -v pdftoppm >/dev/null 2>&1 && command -v zbarimg >/dev/null 2>&1 \
  && [ -d /usr/share/poppler/cMap/Adobe-GB1 ]; then
  echo "setup: chromium, chromium-driver, poppler-utils, poppler-data and zbar-tools found"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium chromium-driver poppler-utils poppler-data zbar-tools" \
    "fonts-arphic-ukai"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    chromium chromium-driver poppler-utils poppler-data zbar-tools fonts-arphic-ukai
else
  echo "setup: not root: install chromium chromium-driver poppler-utils poppler-data zbar-tools" \
    "for tests/web" >&2
fi
# go-ethereum (geth) for the multi-validator consortium (Clique proof of authority, three
# signers: certreg/dev/geth.py, docs/DEPLOY.md). Built from source through the Go module proxy
# into .tools/bin (gitignored) when missing: v1.13.15, the last release that seals Clique blocks.
# -checklinkname=0 works around github.com/fjl/memsize's link error on Go >= 1.23. A first build
# takes about 5 minutes on two cores (later ones reuse the module and build caches).
GETH_VERSION=1.13.15
if [ -x .tools/bin/geth ] && .tools/bin/geth version 2>/dev/null | grep -q "^Version: ${GETH_VERSION}-"; then
  echo "setup: geth ${GETH_VERSION} found in .tools/bin"
elif command -v go >/dev/null 2>&1; then
  echo "setup: building geth ${GETH_VERSION} into .tools/bin (go install, ~5 min the first time)"
  ldflags=""
  go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "${go_minor:-0}" -ge 23 ] 2>/dev/null; then ldflags="-checklinkname=0"; fi
  started=$(date +%s)
  mkdir -p .tools/bin
  CGO_ENABLED=1 GOBIN="$PWD/.tools/bin" GOFLAGS="${GOFLAGS:-} -mod=mod" \
    go install -ldflags="$ldflags" "github.com/ethereum/go-ethereum/cmd/geth@v${GETH_VERSION}"
  echo "setup: geth built in $(( $(date +%s) - started )) s"
else
  echo "setup: go not found: install Go (>= 1.21) to build geth for the Clique tests" \
    "(tests/province/test_clique.py skips without it, and fails under CI=true)" >&2
fi
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -e '.[dev]'
# npm tools: solc, anvil, and js-ipfs with the libp2p `overrides` of package.json (docs/IPFS.md;
# ~290 MB and ~3 min of the first install). `npm ci` refuses our lockfile with npm 11 ("Missing:
# @foundry-rs/anvil-darwin-amd64@ from lock file": npm records only this platform's optional
# packages); `npm install` then installs the same locked versions, overrides included.
if [ -f package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error
fi
