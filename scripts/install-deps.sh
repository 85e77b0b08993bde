#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, test, fuzz, lint and benchmark (DESIGN.md §5).
# Idempotent: only missing packages are installed, so `make run` and `make test` can call it every time.
set -euo pipefail

# ca-certificates: the system trust store https services verify against by default
# (lua_ssl_trusted_certificate = system); a run-time need, installed with the build.
BUILD_PKGS="gcc make pkg-config libev-dev libssl-dev libnghttp2-dev libc-ares-dev libsqlite3-dev
 libpq-dev libhiredis-dev libjansson-dev libyaml-dev libpcre2-dev zlib1g-dev libcriterion-dev
 ca-certificates"
TEST_PKGS="python3 python3-pytest python3-requests python3-websocket python3-websockets python3-yaml
 python3-dnslib python3-cryptography curl openssl deck iproute2 util-linux"
BENCH_PKGS="nginx-light wrk procps openssl"
FUZZ_PKGS="clang libclang-rt-14-dev"
LINT_PKGS="clang-format cppcheck"

want="$BUILD_PKGS"
case "${1:-build}" in
  build) ;;
  test)  want="$want $TEST_PKGS" ;;
  bench) want="$want $TEST_PKGS $BENCH_PKGS" ;;
  fuzz)  want="$want $FUZZ_PKGS" ;;
  lint)  want="$want $LINT_PKGS" ;;
  all)   want="$want $TEST_PKGS $BENCH_PKGS $FUZZ_PKGS $LINT_PKGS" ;;
  *) echo "usage: $0 [build|test|bench|fuzz|lint|all]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
