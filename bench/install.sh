#!/usr/bin/env bash
# Installs what `npm run bench` needs and is missing: wrk, curl, nginx (light), gnuplot from Debian, and
# s3rver from npm into bench/.deps (gitignored). Idempotent: a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v gnuplot >/dev/null 2>&1 || need+=(gnuplot-nox)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "bench: installing ${need[*]} (Debian)"
  $SUDO apt-get update -qq
  # Keep the package's own nginx service from starting on port 80: the bench runs its own.
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_created=1
  fi
  trap '[ "$policy_created" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f .deps/node_modules/s3rver/package.json ]; then
  echo "bench: installing s3rver@3 into bench/.deps (npm)"
  npm install --prefix .deps --no-save --no-audit --no-fund --loglevel=error s3rver@3 >/dev/null
fi
