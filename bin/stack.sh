#!/usr/bin/env bash
# The local operator stack: a Prefect server on 127.0.0.1, the work pool, the
# deployments of deployments/prefect.yaml, and a worker. `make ui` / `make stop`.
#   bin/stack.sh start | stop | status
# State (PIDs, logs, Prefect home) lives in .stack/ (or $OPENDATA_STACK_DIR); the port
# is 4200 (or $PREFECT_PORT).
set -euo pipefail
# Job control: each background process leads its own process group and keeps the
# default SIGINT handling (a script's background jobs would otherwise ignore SIGINT,
# and a worker would need a SIGKILL, leaving its run stuck in "Pending").
set -m
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${OPENDATA_STACK_DIR:-$ROOT/.stack}
PORT=${PREFECT_PORT:-4200}
PREFECT=$ROOT/.venv/bin/prefect
PYTHON=$ROOT/.venv/bin/python
POOL=opendata-mel

export PREFECT_HOME=$STATE/prefect-home
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_UI_API_URL=$PREFECT_API_URL
# The links of the failure alerts point at this interface.
export PREFECT_UI_URL=http://127.0.0.1:$PORT
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
# A yearly schedule: plan runs up to 400 days ahead (Prefect's default is 100), so that
# the next yearly run shows in the UI all year round.
export PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME=${PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME:-P400D}
# Read by the deployments' pull step: flow runs start in this checkout.
export OPENDATA_HOME=$ROOT

healthy() { "$PYTHON" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$PREFECT_API_URL/health" >/dev/null 2>&1; }

# A PID file counts only if its process is still the Prefect process we started.
alive() {
  local file=$STATE/$1.pid pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "prefect.*$2"
}

start() {
  [ -x "$PREFECT" ] || { echo "Environnement absent : lancez d'abord make install (ou make ui)." >&2; exit 1; }
  mkdir -p "$STATE"
  if alive server "server start"; then
    echo "Le serveur Prefect tourne déjà (PID $(cat "$STATE/server.pid"))."
  else
    if healthy; then
      echo "Le port $PORT est déjà pris par un autre serveur : arrêtez-le ou choisissez PREFECT_PORT." >&2
      exit 1
    fi
    echo "Démarrage du serveur Prefect sur 127.0.0.1:$PORT (journal : $STATE/server.log)…"
    "$PREFECT" server start --host 127.0.0.1 --port "$PORT" >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/server.pid"
    trap 'echo "Échec du démarrage : arrêt de ce qui a été lancé." >&2; stop' ERR
  fi
  for _ in $(seq 1 120); do
    alive server "server start" || { echo "Le serveur s'est arrêté : voir $STATE/server.log" >&2; false; }
    healthy && break
    sleep 1
  done
  healthy || { echo "Le serveur ne répond pas après 120 s : voir $STATE/server.log" >&2; false; }

  "$PREFECT" work-pool inspect "$POOL" >/dev/null 2>&1 \
    || "$PREFECT" work-pool create "$POOL" --type process >/dev/null
  # One run at a time writes the warehouse.
  "$PREFECT" work-pool set-concurrency-limit "$POOL" 1 >/dev/null
  # On the bundled sample mirror, the demo's parameters (samples/pile-demo.yaml): every
  # deployment then completes from the interface with its defaults.
  local prefect_file=deployments/prefect.yaml
  if [ -n "${OPENDATA_MIRROR:-}" ] && [ "$(realpath -m -- "$OPENDATA_MIRROR")" = "$(realpath -- "$ROOT/samples/mirror")" ]; then
    "$PYTHON" samples/demo_stack.py "$STATE"
    prefect_file=$STATE/prefect-demo.yaml
    export OPENDATA_MIRROR=$STATE/miroir-demo
  fi
  echo "Déploiement de $prefect_file…"
  "$PREFECT" --no-prompt deploy --all --prefect-file "$prefect_file" >"$STATE/deploy.log" 2>&1 \
    || { echo "Échec du déploiement : voir $STATE/deploy.log" >&2; false; }
  # The failure alert (catalog/alertes.yaml), from OPENDATA_WEBHOOK_URL; none without it.
  "$ROOT/.venv/bin/opendata-mel" alertes

  if alive worker "worker start"; then
    echo "Le worker tourne déjà (PID $(cat "$STATE/worker.pid"))."
  else
    "$PREFECT" worker start --pool "$POOL" --type process >"$STATE/worker.log" 2>&1 &
    echo $! >"$STATE/worker.pid"
    sleep 3
    alive worker "worker start" || { echo "Le worker s'est arrêté : voir $STATE/worker.log" >&2; false; }
  fi
  trap - ERR
  cat <<MSG

Interface Prefect : http://127.0.0.1:$PORT
  - Déploiements : yearly_refresh/annuel (planifié le 15 juillet à 6 h, heure de Paris),
    yearly_refresh/une-source, publish/publication, subventions/subventions,
    site-citoyen/annuel (le 15 juillet à 9 h) ; bouton « Run » → « Custom run » pour
    choisir les paramètres (millésime, sources, périmètres, environnement, simulation).
  - Lancer en ligne de commande :
      PREFECT_API_URL=$PREFECT_API_URL .venv/bin/prefect deployment run 'yearly_refresh/annuel' -p millesime=2022 --watch
  - Sources lues : ${OPENDATA_MIRROR:-les serveurs nationaux (OPENDATA_MIRROR non défini)}
  - Journaux : $STATE/server.log, $STATE/worker.log ; arrêter : make stop
MSG
}

stop_group() {  # name, pattern, signals: a worker wants two SIGINTs to stop promptly
  local name=$1 pattern=$2 pid; shift 2
  if ! alive "$name" "$pattern"; then rm -f "$STATE/$name.pid"; return 0; fi
  pid=$(cat "$STATE/$name.pid")
  for signal in "$@"; do kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid" 2>/dev/null || true; sleep 1; done
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$STATE/$name.pid"
  echo "Arrêté : $name (PID $pid)"
}

stop() {
  stop_group worker "worker start" INT INT
  stop_group server "server start" INT
}

status() {
  local name
  for name in server worker; do
    if alive "$name" "$name start"; then echo "$name : en marche (PID $(cat "$STATE/$name.pid"))"; else echo "$name : arrêté"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage : $0 start|stop|status" >&2; exit 2 ;;
esac
