#!/usr/bin/env bash
# System packages the full test suite uses (Debian): speech and tone generation for the audio tests,
# Korean (Hangul) fonts so plots and the browser render Korean, and Chromium for the web-explorer test.
# Installed only when running as root; tests that need a missing one skip and say why.
set -euo pipefail
pkgs=(espeak-ng sox fonts-nanum chromium fonts-noto-cjk)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "note: not root; cannot install ${missing[*]} (tests needing them will skip)" >&2; exit 0
fi
echo "==> apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
