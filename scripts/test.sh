#!/usr/bin/env bash
# Installs what is missing (runtime, test tools, chromium), lints, then runs the whole test suite.
# Arguments go to pytest: `scripts/test.sh -m "not slow"` is the quick loop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -q "$@"
