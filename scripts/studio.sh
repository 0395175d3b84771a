#!/usr/bin/env bash
# Installs what is missing, then launches the studio at http://127.0.0.1:7860.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python app.py "$@"
