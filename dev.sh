#!/usr/bin/env bash
# Presence developer entry point. See README.md ("Quick start").
#   ./dev.sh up              start redis-server and the four services (Aspire AppHost) in the background
#   ./dev.sh down            stop what `up` started
#   ./dev.sh status          show what runs
#   ./dev.sh test            install what the tests need, run every test
#   ./dev.sh token ROLE ID   print a dev JWT (HS256, issuer presence-dev, audience presence)
#   ./dev.sh bench [--quick] the benchmark: services vs baselines, printed as a table (docs/benchmarks.md)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
STATE="$ROOT/.dev"
DEV_SIGNING_KEY="${PRESENCE_DEV_SIGNING_KEY:-dev-only-signing-key-change-me-0123456789abcdef}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=0
# ensure_package COMMAND DEBIAN-PACKAGE: installs the package when the command is missing.
ensure_package() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "'$1' is missing and this is not root: run 'apt-get install -y $2' as root."
    sudo="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || die "'$1' is missing and there is no apt-get: install the package that provides it ($2)."
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    $sudo apt-get update -qq
    apt_updated=1
  fi
  log "installing $2"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

cmd_token() {
  [ $# -eq 2 ] || die "usage: ./dev.sh token ROLE ID   (ROLE: therapist or community)"
  local role="$1" id="$2" now header payload signature
  case "$role" in therapist|community) ;; *) die "ROLE must be therapist or community";; esac
  [[ "$id" =~ ^[A-Za-z0-9_.@-]{1,128}$ ]] || die "ID must match [A-Za-z0-9_.@-]{1,128}"
  ensure_package openssl openssl
  now=$(date +%s)
  header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"sub":"%s","role":"%s","iss":"presence-dev","aud":"presence","iat":%d,"nbf":%d,"exp":%d}' \
    "$id" "$role" "$now" "$now" $((now + 12 * 3600)) | b64url)
  signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$DEV_SIGNING_KEY" -binary | b64url)
  printf '%s.%s.%s\n' "$header" "$payload" "$signature"
}

cmd_test() {
  ensure_package redis-server redis-server
  log "dotnet test (every test project in Presence.sln)"
  dotnet test --solution Presence.sln "$@"
}

cmd_bench() {
  ensure_package redis-server redis-server
  ensure_package wrk wrk
  log "building Release"
  local project
  for project in services/heartbeat-api services/status-query services/realtime-gateway services/janitor tests/Presence.Benchmarks; do
    dotnet build -c Release --nologo -v quiet "$project" >/dev/null
  done
  dotnet tests/Presence.Benchmarks/bin/Release/net10.0/Presence.Benchmarks.dll run "$@"
}

main() {
  local cmd="${1:-help}"
  shift || true
  case "$cmd" in
    test) cmd_test "$@" ;;
    token) cmd_token "$@" ;;
    bench) cmd_bench "$@" ;;
    up|down|status) "cmd_$cmd" "$@" ;;
    *) sed -n '2,8p' "$0"; exit 2 ;;
  esac
}

main "$@"
