#!/usr/bin/env bash
# Install missing Debian packages when run as root; otherwise say exactly what to install.
# --optional: a missing package is reported but not fatal (tests needing it skip with a reason).
set -euo pipefail
optional=0
if [[ "${1:-}" == "--optional" ]]; then optional=1; shift; fi
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "pystn: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  if apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/pystn-apt.log 2>&1; then exit 0; fi
  echo "pystn: apt-get install failed, see /tmp/pystn-apt.log" >&2
else
  echo "pystn: missing Debian packages: ${missing[*]}" >&2
  echo "pystn: install them with: sudo apt-get install ${missing[*]}" >&2
fi
[[ $optional -eq 1 ]] && exit 0
exit 1
