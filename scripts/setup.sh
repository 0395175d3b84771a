#!/usr/bin/env bash
# Creates .venv with the pinned dependencies; with --dev also the test tools and Debian's chromium.
# Idempotent: a second run with unchanged requirements installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi

stamp=.venv/.requirements-stamp
want=$(cat requirements.txt; [ "${1:-}" = "--dev" ] && cat requirements-dev.txt || true)
want_hash=$(printf '%s' "$want" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || ! grep -qx "$want_hash" "$stamp"; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  .venv/bin/python -m pip install --quiet --no-deps PyOpenGL==3.1.10
  if [ "${1:-}" = "--dev" ]; then
    .venv/bin/python -m pip install --quiet -r requirements-dev.txt
  fi
  echo "$want_hash" >> "$stamp"
fi

# Debian packages the tests use: chromium (browser tests), libosmesa6 (body video), espeak-ng and festival with the
# us-slt voice (speech synthesis for test audio and for the synthetic co-speech training pairs).
if [ "${1:-}" = "--dev" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v text2wave >/dev/null || missing+=(festival)
  [ -d /usr/share/festival/voices/us/cmu_us_slt_arctic_hts ] || missing+=(festvox-us-slt-hts)
  ldconfig -p | grep -q libOSMesa || missing+=(libosmesa6)   # the offline body video (pyrender on the CPU)
  if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
      || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
  fi
fi
