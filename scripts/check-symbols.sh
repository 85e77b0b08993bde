#!/usr/bin/env bash
# Every exported symbol of the library starts with sl_ (style.md §3.2).
set -euo pipefail
bad=$(nm -g --defined-only "$1" | awk 'NF==3 {print $3}' | grep -v '^sl_' || true)
if [ -n "$bad" ]; then echo "exported symbols without the sl_ prefix:"; echo "$bad"; exit 1; fi
