"""The operator stack for real: Prefect server, work pool, deployments, worker, schedule."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests
import yaml

from tests.conftest import ROOT
from tests.webhook_receiver import WebhookReceiver


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def webhook():
    """The team's chat tool: a loopback incoming webhook that keeps what it receives."""
    with WebhookReceiver() as receiver:
        yield receiver


@dataclass
class Stack:
    api: str
    workdir: Path
    env: dict[str, str]
    started: str  # what `make ui` printed
    secrets: tuple[str, ...]  # must never appear in a log, an artifact or a file
    ui: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory, webhook):
    """The stack of `make ui` as a newcomer gets it: the bundled sample mirror (its
    default), here with a failure alert to the loopback webhook and a production key set.
    Started once for the module and stopped by bin/stack.sh on a free port; its checks on
    stopping run at the end of the module."""
    tmp_path = tmp_path_factory.mktemp("pile")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    state = tmp_path / "stack"
    token = secrets.token_hex(8)
    hook = f"{webhook.url}/hooks/jeton-{token}"
    key = f"cle-prod-{secrets.token_hex(12)}"
    env = {
        **os.environ,
        "OPENDATA_STACK_DIR": str(state),
        "PREFECT_PORT": str(port),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        # The worker asks for runs every 2 s (10 s by default): runs queued behind the
        # pool's limit start sooner.
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "OPENDATA_MIRROR": str(ROOT / "samples" / "mirror"),
        "OPENDATA_WAREHOUSE": str(tmp_path / "entrepot" / "opendata.duckdb"),
        "OPENDATA_DATA_DIR": str(tmp_path / "data"),
        "OPENDATA_HTTP_BACKOFF": "0.05",
        "OPENDATA_WEBHOOK_URL": hook,
        "DATAGOUV_API_KEY_PROD": key,
    }
    for name in (
        "DATAGOUV_API_KEY_DEMO",
        "OPENDATA_WEBHOOK_TYPE",
        "PREFECT_API_URL",
        "PREFECT_HOME",
    ):
        env.pop(name, None)
    script = str(ROOT / "bin" / "stack.sh")
    try:
        started = subprocess.run(
            [script, "start"], env=env, capture_output=True, text=True, timeout=400, check=False
        )
        assert started.returncode == 0, started.stderr + started.stdout
        assert f"Interface Prefect : http://127.0.0.1:{port}" in started.stdout
        yield Stack(
            api,
            tmp_path,
            env,
            started.stdout + started.stderr,
            (f"jeton-{token}", key),
            f"http://127.0.0.1:{port}",
        )
    finally:
        stopped = subprocess.run(
            [script, "stop"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if state.exists():
            shutil.copytree(
                state,
                ROOT / "test-artifacts" / f"stack-{port}",
                ignore=shutil.ignore_patterns("prefect-home", "miroir-demo"),
                dirs_exist_ok=True,
            )
    assert "Arrêté : worker" in stopped.stdout and "Arrêté : server" in stopped.stdout
    status = subprocess.run(
        [script, "status"], env=env, capture_output=True, text=True, check=False
    )
    assert "server : arrêté" in status.stdout and "worker : arrêté" in status.stdout


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = check()
        except requests.RequestException:
            result = None
        if result:
            return result
        time.sleep(1)
    pytest.fail(f"délai dépassé en attendant : {what}")


def deployment(api: str, name: str) -> dict:
    return requests.get(f"{api}/deployments/name/{name}", timeout=10).json()


def trigger(api: str, name: str, parameters: dict) -> str:
    """As the UI's "Custom run" form does: POST create_flow_run on the deployment.

    Prefect's SQLite database answers 503 while it is busy (the worker polls it); its
    own client retries then, and so does this one."""
    deployment_id = deployment(api, name)["id"]
    for _ in range(10):
        answer = requests.post(
            f"{api}/deployments/{deployment_id}/create_flow_run",
            json={"parameters": parameters},
            timeout=10,
        )
        if answer.status_code != 503:
            break
        time.sleep(1)
    answer.raise_for_status()
    return answer.json()["id"]


def finished(api: str, run_id: str) -> dict | None:
    run = requests.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
    return run if run["state"]["type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"} else None


def artifacts_of(api: str, run_id: str) -> dict[str, str]:
    found = requests.post(
        f"{api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run_id]}}},
        timeout=10,
    ).json()
    return {a["key"]: a["data"] for a in found if a["key"]}


def test_the_stack_says_it_is_the_demo_and_that_failures_are_alerted(stack):
    assert "Pile de démonstration (miroir d'exemple)" in stack.started
    assert "Alerte d'échec « opendata-mel-echec » créée : webhook generique" in stack.started
    refresh = deployment(stack.api, "yearly_refresh/annuel")
    # the form says it: a demo, and which sources it reads
    assert refresh["description"].startswith("PILE DE DÉMONSTRATION")
    assert refresh["parameters"]["sources"] == ["insee_comparateur", "insee_filosofi"]
    assert not deployment(stack.api, "yearly_refresh/une-source")["description"].startswith("PILE")


def test_every_deployment_completes_from_the_interface_with_its_defaults(stack):
    """*Run* on each deployment, with the form's defaults, clicked one after the other: the
    work pool runs them one at a time, and each ends Completed."""
    api = stack.api
    listed = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text(encoding="utf-8"))
    deployed = requests.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    flows = {f["id"]: f["name"] for f in requests.post(f"{api}/flows/filter", json={}).json()}
    names = sorted(f"{flows[d['flow_id']]}/{d['name']}" for d in deployed)
    assert len(names) == len(listed["deployments"]) == 5
    # The refresh first: the others read the warehouse it builds (as a newcomer would).
    order = sorted(names, key=lambda name: name != "yearly_refresh/annuel")
    ids = {name: trigger(api, name, {}) for name in order}
    runs = {
        name: wait_for(lambda i=i: finished(api, i), 600, f"fin de {name}")
        for name, i in ids.items()
    }
    states = {name: (run["state"]["type"], run["state"]["message"]) for name, run in runs.items()}
    assert all(state == "COMPLETED" for state, _ in states.values()), states
    spans = sorted((run["start_time"], run["end_time"]) for run in runs.values())
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))

    warehouse = stack.workdir / "entrepot" / "opendata.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.communes where is_mel").fetchone() == (95,)
        # the FICTITIOUS sample subsidies of Sailly-lez-Lannoy, with the sample answers
        assert conn.execute("select count(*) from marts.subventions").fetchone() == (70,)
    summary = artifacts_of(api, ids["yearly_refresh/annuel"])["resume-rafraichissement"]
    assert "Communes de la MEL trouvées : 95" in summary
    assert "SIMULATION" in summary  # the publication plan, dry run by default
    assert "plan-publication-demo" in artifacts_of(api, ids["publish/publication"])
    site = stack.workdir / "data" / "outputs" / "site"
    assert len(list(site.glob("59*/index.html"))) == 95
    page = (site / "59522" / "index.html").read_text(encoding="utf-8")
    assert "<h1>Sailly-lez-Lannoy en chiffres</h1>" in page
    assert "les subventions, si elles sont affichées, sont FICTIVES" in page


def test_the_yearly_schedules(stack):
    api = stack.api
    assert deployment(api, "site-citoyen/annuel")["schedules"][0]["schedule"]["cron"] == (
        "0 9 15 7 *"
    )
    # Next refresh on 15 July at 06:00 in Paris, i.e. 04:00 UTC.
    annual = deployment(api, "yearly_refresh/annuel")
    scheduled = wait_for(
        lambda: requests.post(
            f"{api}/flow_runs/filter",
            json={
                "deployments": {"id": {"any_": [annual["id"]]}},
                "flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                "sort": "EXPECTED_START_TIME_ASC",
            },
            timeout=10,
        ).json(),
        60,
        "exécution planifiée",
    )
    first = dt.datetime.fromisoformat(scheduled[0]["expected_start_time"])
    today = dt.datetime.now(dt.UTC)
    year = (
        today.year if today < dt.datetime(today.year, 7, 15, 4, tzinfo=dt.UTC) else today.year + 1
    )
    assert first == dt.datetime(year, 7, 15, 6, tzinfo=ZoneInfo("Europe/Paris"))
    assert first.astimezone(dt.UTC).hour == 4


def test_a_failed_run_says_why_and_the_webhook_gets_one_french_alert(stack, webhook):
    api = stack.api
    before = len(webhook.posts())
    run_id = trigger(api, "yearly_refresh/une-source", {"sources": ["insee_inconnue"]})
    run = wait_for(lambda: finished(api, run_id), 300, "fin de l'exécution")
    assert run["state"]["type"] == "FAILED"
    assert "source(s) inconnue(s) : insee_inconnue" in run["state"]["message"]
    assert "Que faire" in artifacts_of(api, run_id)["echec-rafraichissement"]

    link = f"{stack.ui}/runs/flow-run/{run_id}"
    wait_for(lambda: any(link in p.body["text"] for p in webhook.posts()), 90, "l'alerte")
    time.sleep(5)  # a second notification of the same failure would come within seconds
    alerts = [p for p in webhook.posts()[before:] if run_id in p.body["text"]]
    assert len(alerts) == 1, alerts
    [alert] = alerts
    assert alert.path == f"/hooks/{stack.secrets[0]}"
    assert alert.body["sujet"] == "opendata-mel : échec de yearly_refresh/une-source"
    message = alert.body["message"]
    assert message.startswith("ÉCHEC d'une exécution d'opendata-mel")
    assert "Déploiement : yearly_refresh/une-source" in message
    assert "état Failed" in message
    assert "source(s) inconnue(s) : insee_inconnue" in message
    assert "Que faire :" in message
    # Prefect's English prefix and the exception's class are left out
    assert "Flow run encountered an exception" not in message
    assert "Ce qui s'est passé, où, et que faire :\nConfiguration invalide : source(s)" in message
    assert f"Journaux et artefacts de l'exécution : {link}" in message
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "alerte-webhook.json").write_text(
        json.dumps(alert.body, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def test_a_cli_refresh_and_a_deployment_run_never_build_together(stack):
    """Two refreshes started together: a deployment run (through the worker) and the CLI
    in a terminal, on the same warehouse. One builds; the other is refused in French and
    changes nothing, or waits its turn."""
    api = stack.api
    run_id = trigger(api, "yearly_refresh/une-source", {})
    wait_for(
        lambda: (
            requests.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]["type"]
            in {"RUNNING", "COMPLETED", "FAILED", "CRASHED"}
        ),
        120,
        "démarrage de l'exécution du déploiement",
    )
    env = {
        **stack.env,
        "PREFECT_API_URL": api,  # the terminal's run shows in the same interface
        "OPENDATA_MIRROR": str(stack.workdir / "stack" / "miroir-demo"),
    }
    cli = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "opendata-mel"), "refresh", "--sources", "insee_comparateur"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    run = wait_for(lambda: finished(api, run_id), 300, "fin de l'exécution du déploiement")
    refused = "un autre rafraîchissement est en cours sur cet entrepôt"
    outcomes = {
        "cli": "refusé" if refused in cli.stderr else ("fini" if cli.returncode == 0 else "?"),
        "deploiement": "refusé"
        if refused in (run["state"]["message"] or "")
        else run["state"]["type"].lower(),
    }
    # Both ran, one after the other, or one was refused with the French message.
    assert outcomes in (
        {"cli": "refusé", "deploiement": "completed"},
        {"cli": "fini", "deploiement": "refusé"},
        {"cli": "fini", "deploiement": "completed"},
    ), (outcomes, cli.stderr[-2000:], run["state"])
    if outcomes["cli"] == "refusé":
        assert cli.returncode == 1 and "Que faire : attendez la fin de l'autre exécution" in (
            cli.stderr
        )
    with duckdb.connect(
        str(stack.workdir / "entrepot" / "opendata.duckdb"), read_only=True
    ) as conn:
        assert conn.execute("select count(*) from marts.communes where is_mel").fetchone() == (95,)
    leftovers = list((stack.workdir / "entrepot").glob("*.en_cours*"))
    assert leftovers == []


def test_no_secret_in_logs_artifacts_or_files(stack):
    """The webhook's address and the production key, set for the whole stack, appear in no
    log, no artifact, no plan, no Data Docs page and no file of the warehouse or the data."""
    api = stack.api
    texts = {"sortie de make ui": stack.started}
    for log in (stack.workdir / "stack").glob("*.log"):
        texts[str(log)] = log.read_text(encoding="utf-8", errors="replace")
    artifacts = requests.post(f"{api}/artifacts/filter", json={"limit": 200}, timeout=10).json()
    assert artifacts
    texts["artefacts"] = json.dumps(artifacts, ensure_ascii=False)
    logs, offset = [], 0
    while page := requests.post(
        f"{api}/logs/filter", json={"limit": 200, "offset": offset}, timeout=10
    ).json():
        logs += page
        offset += len(page)
    assert logs
    texts["journaux des exécutions"] = "\n".join(entry["message"] for entry in logs)
    for folder in ("data", "entrepot"):
        for path in (stack.workdir / folder).rglob("*"):
            if path.is_file():
                texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    assert any("datadocs" in name or "qualite" in name for name in texts), sorted(texts)[:20]
    leaks = [
        (where, secret[:6] + "…")
        for where, text in texts.items()
        for secret in stack.secrets
        if secret in text
    ]
    assert leaks == []


def test_the_alert_is_created_once_and_removed_without_a_webhook(stack):
    api = stack.api
    command = [str(ROOT / ".venv" / "bin" / "opendata-mel"), "alertes"]
    env = {**stack.env, "PREFECT_API_URL": api}

    def ours():
        return [
            a
            for a in requests.post(f"{api}/automations/filter", json={}, timeout=10).json()
            if a["name"] == "opendata-mel-echec"
        ]

    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "« opendata-mel-echec » mise à jour" in again.stdout
    assert len(ours()) == 1  # `make ui` twice: still one alert
    assert stack.secrets[0] not in again.stdout + again.stderr
    env.pop("OPENDATA_WEBHOOK_URL")
    removed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith(
        "Aucune alerte d'échec : OPENDATA_WEBHOOK_URL n'est pas défini (l'ancienne alerte a "
        "été retirée)."
    )
    assert ours() == []
