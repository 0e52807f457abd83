#!/usr/bin/env bash
# The local operator stack: a Prefect server on 127.0.0.1, the work pool, the
# deployments of deployments/prefect.yaml, and a worker. `make ui` / `make stop`.
#   bin/stack.sh start | stop | status
# State (PIDs, logs, Prefect home) lives in .stack/ (or $OPENDATA_STACK_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${OPENDATA_STACK_DIR:-$ROOT/.stack}
PORT=${PREFECT_PORT:-4200}
PREFECT=$ROOT/.venv/bin/prefect
POOL=opendata-mel

export PREFECT_HOME=$STATE/prefect-home
export PREFECT_API_URL=http://127.0.0.1:$PORT/api
export PREFECT_UI_API_URL=$PREFECT_API_URL
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
# A yearly schedule: plan runs up to 400 days ahead (Prefect's default is 100), so that
# the next yearly run shows in the UI all year round.
export PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME=P400D
export OPENDATA_HOME=$ROOT

healthy() { "$ROOT/.venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "$PREFECT_API_URL/health" >/dev/null 2>&1; }
alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

start() {
  mkdir -p "$STATE"
  if alive server; then
    echo "Le serveur Prefect tourne déjà (PID $(cat "$STATE/server.pid"))."
  else
    echo "Démarrage du serveur Prefect sur 127.0.0.1:$PORT (journal : $STATE/server.log)…"
    "$PREFECT" server start --host 127.0.0.1 --port "$PORT" >"$STATE/server.log" 2>&1 &
    echo $! >"$STATE/server.pid"
  fi
  for _ in $(seq 1 120); do
    healthy && break
    alive server || { echo "Le serveur s'est arrêté : voir $STATE/server.log" >&2; exit 1; }
    sleep 1
  done
  healthy || { echo "Le serveur ne répond pas après 120 s : voir $STATE/server.log" >&2; exit 1; }

  "$PREFECT" work-pool inspect "$POOL" >/dev/null 2>&1 \
    || "$PREFECT" work-pool create "$POOL" --type process >/dev/null
  # One run at a time writes the warehouse.
  "$PREFECT" work-pool set-concurrency-limit "$POOL" 1 >/dev/null
  echo "Déploiement de deployments/prefect.yaml…"
  "$PREFECT" --no-prompt deploy --all --prefect-file deployments/prefect.yaml >"$STATE/deploy.log" 2>&1 \
    || { echo "Échec du déploiement : voir $STATE/deploy.log" >&2; exit 1; }

  if alive worker; then
    echo "Le worker tourne déjà (PID $(cat "$STATE/worker.pid"))."
  else
    "$PREFECT" worker start --pool "$POOL" --type process >"$STATE/worker.log" 2>&1 &
    echo $! >"$STATE/worker.pid"
  fi
  cat <<MSG

Interface Prefect : http://127.0.0.1:$PORT
  - Déploiements : yearly_refresh/annuel (planifié le 15 juillet à 6 h, heure de Paris),
    yearly_refresh/une-source, publish/publication ; bouton « Run » → « Custom run »
    pour choisir les paramètres (millésime, sources, périmètres, environnement, simulation).
  - Lancer en ligne de commande :
      PREFECT_API_URL=$PREFECT_API_URL .venv/bin/prefect deployment run 'yearly_refresh/annuel' -p millesime=2022 --watch
  - Sources lues : ${OPENDATA_MIRROR:-les serveurs nationaux (OPENDATA_MIRROR non défini)}
  - Journaux : $STATE/server.log, $STATE/worker.log ; arrêter : make stop
MSG
}

stop_pid() {  # name, signal sequence: a worker needs two SIGINTs to stop promptly
  local name=$1; shift
  alive "$name" || { rm -f "$STATE/$name.pid"; return 0; }
  local pid; pid=$(cat "$STATE/$name.pid")
  for signal in "$@"; do kill "-$signal" "$pid" 2>/dev/null || true; sleep 1; done
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$STATE/$name.pid"
  echo "Arrêté : $name (PID $pid)"
}

stop() {
  stop_pid worker INT INT
  stop_pid server INT
}

status() {
  for name in server worker; do
    if alive "$name"; then echo "$name : en marche (PID $(cat "$STATE/$name.pid"))"; else echo "$name : arrêté"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage : $0 start|stop|status" >&2; exit 2 ;;
esac
