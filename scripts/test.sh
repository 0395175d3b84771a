#!/usr/bin/env bash
# Installs what is missing (runtime, test tools, chromium), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev
exec .venv/bin/python -m pytest -q "$@"
