"""The operator stack for real: Prefect server, work pool, deployments, worker, schedule."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import subprocess
import time
from zoneinfo import ZoneInfo

import duckdb
import pytest
import requests

from tests.conftest import ROOT, copy_tree
from tests.mirror_server import MirrorServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stack_mirror(tmp_path_factory, mirror_template):
    """The completed mirror, served for the whole module."""
    with MirrorServer(copy_tree(mirror_template, tmp_path_factory.mktemp("pile") / "m")) as mirror:
        yield mirror


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_mirror):
    """The stack of `make ui`, started once for the module and stopped by bin/stack.sh on
    a free port; its checks on stopping run at the end of the module."""
    mirror, tmp_path = stack_mirror, tmp_path_factory.mktemp("pile")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    state = tmp_path / "stack"
    env = {
        **os.environ,
        "OPENDATA_STACK_DIR": str(state),
        "PREFECT_PORT": str(port),
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "OPENDATA_MIRROR": mirror.url,
        "OPENDATA_WAREHOUSE": str(tmp_path / "entrepot" / "opendata.duckdb"),
        "OPENDATA_DATA_DIR": str(tmp_path / "data"),
        "OPENDATA_HTTP_BACKOFF": "0.05",
    }
    for name in (
        "DATAGOUV_API_KEY_DEMO",
        "DATAGOUV_API_KEY_PROD",
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
        yield api, tmp_path
    finally:
        stopped = subprocess.run(
            [script, "stop"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        if state.exists():
            shutil.copytree(
                state,
                ROOT / "test-artifacts" / f"stack-{port}",
                ignore=shutil.ignore_patterns("prefect-home"),
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


def test_manual_runs_schedule_and_one_run_at_a_time(stack):
    api, workdir = stack

    run_id = trigger(
        api, "yearly_refresh/annuel", {"millesime": 2022, "env": "demo", "dry_run": True}
    )
    run = wait_for(lambda: finished(api, run_id), 300, "fin du rafraîchissement")
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert run["parameters"]["millesime"] == 2022
    with duckdb.connect(str(workdir / "entrepot" / "opendata.duckdb"), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.communes where is_mel").fetchone() == (95,)
    artifacts = requests.post(
        f"{api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run_id]}}},
        timeout=10,
    ).json()
    summary = next(a for a in artifacts if a["key"] == "resume-rafraichissement")
    assert "Communes de la MEL trouvées : 95" in summary["data"]
    assert "SIMULATION" in summary["data"]  # the publication plan, dry run by default

    # The citizen site, as the officer triggers it for one commune from the UI.
    site_id = trigger(api, "site-citoyen/annuel", {"commune": "59522", "all_mel": False})
    site_run = wait_for(lambda: finished(api, site_id), 300, "fin du site citoyen")
    assert site_run["state"]["type"] == "COMPLETED", site_run["state"]
    index = workdir / "data" / "outputs" / "site" / "59522" / "index.html"
    assert "<h1>Sailly-lez-Lannoy en chiffres</h1>" in index.read_text(encoding="utf-8")
    assert deployment(api, "site-citoyen/annuel")["schedules"][0]["schedule"]["cron"] == (
        "0 9 15 7 *"
    )

    # The yearly schedule: next run on 15 July at 06:00 in Paris, i.e. 04:00 UTC.
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

    # Two manual runs at once: the work pool runs them one after the other.
    ids = [
        trigger(api, "yearly_refresh/une-source", {"sources": ["insee_comparateur"]})
        for _ in range(2)
    ]
    runs = [wait_for(lambda i=i: finished(api, i), 300, "fin des deux exécutions") for i in ids]
    assert [r["state"]["type"] for r in runs] == ["COMPLETED", "COMPLETED"]
    first_run, second_run = sorted(runs, key=lambda r: r["start_time"])
    assert first_run["end_time"] <= second_run["start_time"]


def test_a_failed_run_says_why_in_its_state_and_artifact(stack):
    api, _ = stack
    run_id = trigger(api, "yearly_refresh/une-source", {"sources": ["insee_inconnue"]})
    run = wait_for(lambda: finished(api, run_id), 300, "fin de l'exécution")
    assert run["state"]["type"] == "FAILED"
    assert "source(s) inconnue(s) : insee_inconnue" in run["state"]["message"]
    artifacts = requests.post(
        f"{api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run_id]}}},
        timeout=10,
    ).json()
    failure = next(a for a in artifacts if a["key"] == "echec-rafraichissement")
    assert "Que faire" in failure["data"]
