#!/usr/bin/env bash
# Rebuilds vendor/ and runtime_sdk/ from package-lock.json alone: the one script behind
# the committed JavaScript (see build_vendor.mjs). Needs Node.js >= 20 and npm, and the
# npm registry; nothing else in the project runs npm.
#   reconciler/functions/js/vendor.sh            rebuild in place
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node build_vendor.mjs
