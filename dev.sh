#!/usr/bin/env bash
# Presence developer entry point. See README.md ("Quick start").
#   ./dev.sh up              start redis-server and the four services (Aspire AppHost) in the background
#   ./dev.sh up --cluster    the same on a local 3-primary Redis Cluster (127.0.0.1:7001-7003)
#   ./dev.sh down            stop what `up` started
#   ./dev.sh status          show what runs
#   ./dev.sh test            install what the tests need, run every test
#   ./dev.sh build-web       rebuild the board page and /js/presence.js from clients/js (commit the result)
#   ./dev.sh openapi         rewrite docs/api/*.json, the services' OpenAPI documents (commit the result)
#   ./dev.sh token ROLE ID   print a dev JWT (HS256, issuer presence-dev, audience presence)
#   ./dev.sh bench [--quick] [--skip 1|1b|2|3]  every benchmark part, then one goal table (docs/benchmarks.md)
#   ./dev.sh chaos [--quick] [--users N] [--duration S|Nm]  chaos and soak run with faults (docs/reliability.md)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"
STATE="$ROOT/.dev"
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

# Tokens are minted by tools/Presence.DevToken (the tests' DevTokens): built on first use and when its sources change,
# then a token costs one process start.
cmd_token() {
  local dll=tools/Presence.DevToken/bin/Debug/net10.0/Presence.DevToken.dll
  if [ ! -f "$dll" ] || [ -n "$(find tools/Presence.DevToken tests/Presence.Testing shared/Presence.ServiceDefaults \
        \( -name '*.cs' -o -name '*.csproj' \) -not -path '*/obj/*' -not -path '*/bin/*' -newer "$dll" -print -quit)" ]; then
    log "building tools/Presence.DevToken"
    dotnet build tools/Presence.DevToken --nologo -v quiet >&2 || die "building tools/Presence.DevToken failed"
    touch "$dll"
  fi
  # The key: PRESENCE_DEV_SIGNING_KEY when set, else the dev key the services accept in Development.
  dotnet "$dll" "$@"
}

# The browser client's toolchain (clients/js: TypeScript, esbuild, React for its tests), at the versions pinned in
# its package-lock.json; `npm ci` also builds the package (prepare). Again only when the lock file changed.
vendor_web() {
  ensure_package npm npm
  if [ ! -f clients/js/node_modules/.package-lock.json ] || [ clients/js/package-lock.json -nt clients/js/node_modules/.package-lock.json ]; then
    log "npm ci (clients/js: @presence/client and its build tools)"
    npm ci --prefix clients/js --no-audit --no-fund --loglevel=error >/dev/null
  fi
  # The package's dist/ (what tests import as @presence/client) from the current sources, not the last npm ci's.
  npm run --prefix clients/js --silent build
}

# Writes docs/api/{heartbeat-api,status-query}.json: building a service writes its OpenAPI document (docs/api/OpenApi.targets).
cmd_openapi() {
  local project
  for project in services/heartbeat-api services/status-query; do
    dotnet build "$project" -nologo -v quiet >/dev/null
  done
  log "wrote docs/api/heartbeat-api.json and docs/api/status-query.json; commit them"
}

# Rebuilds what status-query serves (wwwroot/js/presence.js, wwwroot/board.js) from clients/js; commit the result.
cmd_build_web() {
  vendor_web
  npm run --prefix clients/js --silent build:web
  log "built services/status-query/wwwroot/{js/presence.js,board.js} from clients/js"
}

cmd_test() {
  ensure_package redis-server redis-server
  ensure_package chromium chromium
  # The deployment tests lint k8s/ and the scripts (they install these too; promtool they unpack themselves).
  ensure_package yamllint yamllint
  ensure_package shellcheck shellcheck
  vendor_web
  log "npm test (clients/js: unit tests of @presence/client)"
  npm test --prefix clients/js --silent
  log "dotnet test (every test project in Presence.slnx)"
  dotnet test --solution Presence.slnx "$@"
}

# The whole benchmark is one C# command (bench/Presence.Benchmarks, `all`): it runs every part in order, pinned with
# taskset where a core is free, and prints the final goal table (docs/benchmarks.md). Here: only the tools it calls.
cmd_bench() {
  ensure_package redis-server redis-server
  ensure_package wrk wrk
  dotnet run -c Release --project bench/Presence.Benchmarks -- all "$@"
}

# ---------------------------------------------------------------------------------------------------------
# Local run: ./dev.sh up | down | status, through the Aspire AppHost in tools/Presence.AppHost.
# The AppHost starts the orchestrator (DCP, detached, watching the AppHost's PID), which starts redis-server,
# the four services and the dashboard. `down` stops the AppHost by its recorded PID; DCP then removes its
# children; whatever is left of that tree after a grace period is terminated by PID.
APPHOST_DIR="$ROOT/tools/Presence.AppHost"
APPHOST_BIN="$APPHOST_DIR/bin/Debug/net10.0/Presence.AppHost"
PID_FILE="$STATE/apphost.pid"
LOGS="$STATE/logs"
REDIS_PORT=6380
DASHBOARD_PORT=15180
OTLP_PORT=19180            # dashboard's OTLP endpoint (services export here)
RESOURCE_SERVICE_PORT=20180
# name:port:binary, in start order.
SERVICES=(heartbeat-api:5101:Presence.HeartbeatApi realtime-gateway:5102:Presence.RealtimeGateway
          status-query:5103:Presence.StatusQuery janitor:5104:Presence.Janitor)
PROXY_PORT=3001           # tools/Presence.LocalProxy: one origin, routed like the k8s ingress
UP_TIMEOUT="${PRESENCE_UP_TIMEOUT:-180}"   # seconds from AppHost start until every service is ready
DOWN_TIMEOUT="${PRESENCE_DOWN_TIMEOUT:-30}" # seconds for the orchestrator to stop its children by itself

# ./dev.sh up --cluster records "cluster" here; the Redis ports follow it until ./dev.sh down.
REDIS_MODE_FILE="$STATE/redis-mode"
CLUSTER_PORTS=(7001 7002 7003)
redis_mode() { [ -f "$REDIS_MODE_FILE" ] && cat "$REDIS_MODE_FILE" || echo single; }
redis_ports() {
  if [ "$(redis_mode)" = cluster ]; then local p; for p in "${CLUSTER_PORTS[@]}"; do printf '%s %s ' "$p" $((p + 10000)); done
  else printf '%s ' "$REDIS_PORT"; fi
}

all_ports() {
  local s
  for s in "${SERVICES[@]}"; do IFS=: read -r _ port _ <<<"$s"; printf '%s ' "$port"; done
  printf '%s%s %s %s %s\n' "$(redis_ports)" "$DASHBOARD_PORT" "$OTLP_PORT" "$RESOURCE_SERVICE_PORT" "$PROXY_PORT"
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT (bash's /dev/tcp, no ss/netstat needed).
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

busy_ports() {
  local p out=""
  for p in $(all_ports); do port_busy "$p" && out+="$p "; done
  printf '%s' "${out% }"
}

# apphost_pid: the recorded AppHost PID if that process still runs and is the AppHost; nothing otherwise.
apphost_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 0
  pid=$(<"$PID_FILE")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'Presence\.AppHost'; then
    printf '%s' "$pid"
  fi
}

# process_tree PID: PID, the orchestrator processes that watch it (dcp ... --monitor PID), and all their
# descendants, one "pid args" a line.
process_tree() {
  local root="$1"
  ps -eo pid=,ppid=,args= | awk -v root="$root" '
    { pid=$1; ppid=$2; $1=""; $2=""; sub(/^  /, ""); args[pid]=$0; parent[pid]=ppid
      if ($0 ~ /dcp start-apiserver/ && ($0 ~ ("--monitor " root " ") || $0 ~ ("--monitor " root "$"))) seed[pid]=1 }
    END {
      keep[root]=1; for (p in seed) keep[p]=1
      do { added=0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p]=1; added=1 } } while (added)
      for (p in keep) if (p in args) print p, args[p]
    }'
}

alive_of() { local p out=""; for p in "$@"; do kill -0 "$p" 2>/dev/null && out+="$p "; done; printf '%s' "${out% }"; }

# The proxy is ready when the board page (status-query, through it) answers at its root.
proxy_ready() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://localhost:$PROXY_PORT/" 2>/dev/null)" = 200 ]; }

service_ready() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/health/ready" 2>/dev/null)" = 200 ]; }

dashboard_login_url() {
  grep -o "http://localhost:$DASHBOARD_PORT/login?t=[0-9A-Za-z]*" "$LOGS/apphost.log" 2>/dev/null | tail -n 1
}

show_tail() { # show_tail FILE [LINES]
  [ -s "$1" ] || return 0
  printf -- '--- last lines of %s ---\n' "${1#"$ROOT"/}" >&2
  tail -n "${2:-25}" "$1" >&2
}

print_summary() {
  local s name port login
  echo
  echo "Presence is up (AppHost PID $(apphost_pid); logs in .dev/logs/)."
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name port _ <<<"$s"
    printf '  %-17s http://127.0.0.1:%s\n' "$name" "$port"
  done
  printf '  %-17s http://localhost:%s   (one origin, routed like the ingress: board page, /v1/*, /hubs/presence)\n' proxy "$PROXY_PORT"
  if [ "$(redis_mode)" = cluster ]; then
    printf '  %-17s 127.0.0.1:%s   (redis-cli -c -p %s)\n' "redis cluster" "$(IFS=,; echo "${CLUSTER_PORTS[*]}")" "${CLUSTER_PORTS[0]}"
  else
    printf '  %-17s 127.0.0.1:%s   (redis-cli -p %s)\n' redis "$REDIS_PORT" "$REDIS_PORT"
  fi
  login=$(dashboard_login_url)
  printf '  %-17s http://localhost:%s\n' dashboard "$DASHBOARD_PORT"
  [ -n "$login" ] && printf '  %-17s %s\n' "dashboard login" "$login"
  cat <<EOF

A dev token (HS256, 12 h):   ./dev.sh token therapist t-1     (or: ./dev.sh token community c-1)
  TOKEN=\$(./dev.sh token therapist t-1)
  curl -i -XPOST -H "Authorization: Bearer \$TOKEN" http://localhost:$PROXY_PORT/v1/therapists/heartbeat
A frontend:                  NEXT_PUBLIC_BACKEND_URL=http://localhost:$PROXY_PORT/v1
Stop everything:             ./dev.sh down
EOF
}

cmd_chaos() {
  ensure_package redis-server redis-server
  log "building Release"
  local project
  for project in services/heartbeat-api services/realtime-gateway services/janitor tools/Presence.Chaos; do
    dotnet build -c Release --nologo -v quiet "$project" >/dev/null
  done
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "command: ./dev.sh chaos $*"
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  dotnet tools/Presence.Chaos/bin/Release/net10.0/Presence.Chaos.dll --root "$ROOT" "$@"
}

cmd_up() {
  local pid busy start now name port s pending waited=0 cluster=0
  case "${1:-}" in --cluster) cluster=1 ;; "") ;; *) die "usage: ./dev.sh up [--cluster]" ;; esac
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK 10 ('dotnet') is missing: see https://dot.net (global.json pins 10.0.x)."
  ensure_package redis-server redis-server
  ensure_package redis-cli redis-tools
  ensure_package curl curl
  ensure_package ps procps
  vendor_web
  mkdir -p "$LOGS"

  pid=$(apphost_pid)
  if [ -n "$pid" ]; then
    log "already up (AppHost PID $pid)"
    print_summary
    return 0
  fi
  rm -f "$PID_FILE"
  if [ "$cluster" -eq 1 ]; then echo cluster >"$REDIS_MODE_FILE"; else rm -f "$REDIS_MODE_FILE"; fi

  # A previous run may still be freeing its ports (the orchestrator stops its children within ~15 s).
  busy=$(busy_ports)
  while [ -n "$busy" ] && [ "$waited" -lt 20 ]; do
    [ "$waited" -eq 0 ] && log "waiting for ports in use to free: $busy"
    sleep 1; waited=$((waited + 1)); busy=$(busy_ports)
  done
  [ -z "$busy" ] || die "port(s) $busy on 127.0.0.1 are in use by something this script did not start; stop it (e.g. 'ss -ltnp' shows who) and retry."

  log "dotnet build tools/Presence.AppHost (the AppHost and the four services)"
  if ! dotnet build "$APPHOST_DIR/Presence.AppHost.csproj" -nologo >"$LOGS/build.log" 2>&1; then
    grep -E ': (error|warning) ' "$LOGS/build.log" | sort -u | head -n 30 >&2 || true
    show_tail "$LOGS/build.log" 15
    die "build failed (full log: .dev/logs/build.log)"
  fi

  log "starting the AppHost (redis $([ "$cluster" -eq 1 ] && echo "cluster on :7001-7003" || echo "on :$REDIS_PORT"), services on :5101-5104, dashboard on :$DASHBOARD_PORT)"
  # Same settings as the AppHost's launchSettings.json "http" profile (the binary is run directly so that
  # the recorded PID is the AppHost itself). setsid + nohup: detached from this terminal.
  ( cd "$APPHOST_DIR"
    export ASPNETCORE_ENVIRONMENT=Development DOTNET_ENVIRONMENT=Development \
      ASPNETCORE_URLS="http://localhost:$DASHBOARD_PORT" \
      ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL="http://localhost:$OTLP_PORT" \
      ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL="http://localhost:$RESOURCE_SERVICE_PORT" \
      ASPIRE_ALLOW_UNSECURED_TRANSPORT=true PRESENCE_REDIS_CLUSTER="$cluster"
    exec setsid nohup "$APPHOST_BIN" >"$LOGS/apphost.log" 2>&1 </dev/null ) &
  pid=$!
  echo "$pid" >"$PID_FILE"
  start=$(date +%s)

  log "waiting (up to ${UP_TIMEOUT}s) for every service's /health/ready"
  pending="${SERVICES[*]}"
  while :; do
    now=$(date +%s)
    if ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$LOGS/apphost.log" 40
      rm -f "$PID_FILE"
      die "the AppHost (PID $pid) exited during start-up (log: .dev/logs/apphost.log)"
    fi
    local still=""
    for s in $pending; do
      IFS=: read -r name port _ <<<"$s"
      if service_ready "$port"; then
        printf '  %-17s ready after %ss\n' "$name" "$((now - start))" >&2
      else
        still+="$s "
      fi
    done
    pending="${still% }"
    [ -z "$pending" ] && [ -n "$(dashboard_login_url)" ] && proxy_ready && break
    if [ $((now - start)) -ge "$UP_TIMEOUT" ]; then
      printf 'not ready after %ss:' "$UP_TIMEOUT" >&2
      for s in $pending; do
        IFS=: read -r name port _ <<<"$s"
        printf ' %s (:%s /health/ready -> %s)' "$name" "$port" \
          "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/health/ready" 2>/dev/null | sed 's/^000$/no answer/')" >&2
      done
      proxy_ready || printf ' proxy (http://localhost:%s/ -> %s)' "$PROXY_PORT" \
        "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://localhost:$PROXY_PORT/" 2>/dev/null | sed 's/^000$/no answer/')" >&2
      echo >&2
      show_tail "$LOGS/apphost.log" 20
      show_tail "$LOGS/redis.log" 10
      show_tail "$LOGS/redis-cluster.log" 10
      for s in $pending; do IFS=: read -r name _ _ <<<"$s"; show_tail "$LOGS/$name.log" 25; done
      log "stopping what was started"
      cmd_down || true
      die "start-up failed (logs: .dev/logs/)"
    fi
    sleep 1
  done
  print_summary
}

cmd_down() {
  local pid tree pids left busy start elapsed
  ensure_package ps procps
  pid=$(apphost_pid)
  if [ -z "$pid" ]; then
    rm -f "$PID_FILE"
    busy=$(busy_ports)
    log "not running (no live AppHost PID in .dev/apphost.pid)"
    [ -z "$busy" ] || printf 'note: port(s) %s are in use by something this script did not start (or did not record).\n' "$busy" >&2
    return 0
  fi
  tree=$(process_tree "$pid")
  pids=$(awk '{print $1}' <<<"$tree" | tr '\n' ' ')
  log "stopping the AppHost (PID $pid) and its $(($(wc -l <<<"$tree") - 1)) child processes"
  kill -TERM "$pid" 2>/dev/null || true
  start=$(date +%s)
  # The orchestrator notices the AppHost is gone and stops redis-server, the services and the dashboard.
  # shellcheck disable=SC2086 # $pids and $left are PID lists, split into words on purpose.
  while :; do
    elapsed=$(($(date +%s) - start))
    left=$(alive_of $pids); busy=$(busy_ports)
    [ -z "$left" ] && [ -z "$busy" ] && break
    if [ "$elapsed" -ge "$DOWN_TIMEOUT" ]; then
      if [ -n "$left" ]; then
        log "still running after ${elapsed}s, terminating by PID: $left"
        kill -TERM $left 2>/dev/null || true
        sleep 5
        left=$(alive_of $left)
        [ -z "$left" ] || { log "killing: $left"; kill -KILL $left 2>/dev/null || true; sleep 1; }
      fi
      for _ in $(seq 10); do busy=$(busy_ports); [ -z "$busy" ] && break; sleep 1; done
      break
    fi
    sleep 0.5
  done
  rm -f "$PID_FILE"
  busy=$(busy_ports)
  [ -z "$busy" ] || die "stopped our processes, but port(s) $busy are still in use (by something else?)"
  log "stopped; ports $(all_ports | tr ' ' ',' | sed 's/,$//') are free ($(($(date +%s) - start))s)"
  rm -f "$REDIS_MODE_FILE"
}

cmd_status() {
  local pid tree s name port bin spid code rc=0 login
  ensure_package ps procps
  pid=$(apphost_pid)
  if [ -z "$pid" ]; then
    echo "not running (start with ./dev.sh up)"
    local busy; busy=$(busy_ports)
    [ -z "$busy" ] || echo "note: port(s) $busy are in use by something else"
    return 3
  fi
  tree=$(process_tree "$pid")
  printf '%-17s %-8s %-32s %s\n' RESOURCE PID ADDRESS HEALTH
  printf '%-17s %-8s %-32s %s\n' apphost "$pid" "-" "up $(ps -o etime= -p "$pid" | tr -d ' ')"
  spid=$(awk '$2 ~ /(^|\/)dcp$/ && $3 == "start-apiserver" {print $1}' <<<"$tree" | head -n 1)
  printf '%-17s %-8s %-32s %s\n' orchestrator "${spid:--}" "-" "$([ -n "$spid" ] && echo running || echo missing)"
  spid=$(awk '$2 ~ /(^|\/)redis-server$/ {print $1}' <<<"$tree" | head -n 1)
  if [ "$(redis_mode)" = cluster ]; then
    code=$(timeout 3 redis-cli -p "${CLUSTER_PORTS[0]}" cluster info 2>/dev/null | tr -d '\r' | grep '^cluster_state:' || true)
    [ "$code" = cluster_state:ok ] || rc=1
    printf '%-17s %-8s %-32s %s\n' "redis cluster" "${spid:--}" "127.0.0.1:7001-7003" "CLUSTER INFO -> ${code:-no answer}"
  else
    code=$(timeout 3 redis-cli -p "$REDIS_PORT" ping 2>/dev/null || true)
    [ "$code" = PONG ] || rc=1
    printf '%-17s %-8s %-32s %s\n' redis "${spid:--}" "127.0.0.1:$REDIS_PORT" "PING -> ${code:-no answer}"
  fi
  for s in "${SERVICES[@]}"; do
    IFS=: read -r name port bin <<<"$s"
    spid=$(awk -v b="$bin" '{ n=split($2, a, "/"); if (a[n] == b) print $1 }' <<<"$tree" | head -n 1)
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/health/ready" 2>/dev/null || true)
    [ "$code" = 200 ] || rc=1
    printf '%-17s %-8s %-32s %s\n' "$name" "${spid:--}" "http://127.0.0.1:$port" "/health/ready -> ${code:-no answer}"
  done
  spid=$(awk '{ n=split($2, a, "/"); if (a[n] == "Presence.LocalProxy") print $1 }' <<<"$tree" | head -n 1)
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://localhost:$PROXY_PORT/" 2>/dev/null || true)
  [ "$code" = 200 ] || rc=1
  printf '%-17s %-8s %-32s %s\n' proxy "${spid:--}" "http://localhost:$PROXY_PORT" "GET / -> ${code:-no answer}"
  spid=$(awk '$2 ~ /Aspire\.Dashboard$/ {print $1}' <<<"$tree" | head -n 1)
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://localhost:$DASHBOARD_PORT/" 2>/dev/null || true)
  printf '%-17s %-8s %-32s %s\n' dashboard "${spid:--}" "http://localhost:$DASHBOARD_PORT" "GET / -> ${code:-no answer}"
  login=$(dashboard_login_url)
  [ -z "$login" ] || echo "dashboard login: $login"
  echo "logs: .dev/logs/ (apphost.log, build.log, one file per resource)"
  return "$rc"
}

main() {
  local cmd="${1:-help}"
  shift || true
  case "$cmd" in
    test) cmd_test "$@" ;;
    build-web) cmd_build_web ;;
    openapi) cmd_openapi ;;
    token) cmd_token "$@" ;;
    bench) cmd_bench "$@" ;;
    chaos) cmd_chaos "$@" ;;
    up|down|status) "cmd_$cmd" "$@" ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
  esac
}

main "$@"
