"""docker/ is correct by construction: no engine runs here, but the files are linted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tasks.transform.models import LAYERS
from tests.conftest import ROOT

COMPOSE = ROOT / "docker" / "compose.yaml"


def compose_command() -> list[str]:
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("ni `docker compose` ni `docker-compose` : `make test` installe docker-compose")


def config(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*compose_command(), "-f", str(COMPOSE), "config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_is_valid_and_wires_the_stack():
    done = config({**os.environ, "PREFECT_DB_PASSWORD": "pour-le-test"})
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    services = resolved["services"]
    base = {name for name, service in services.items() if not service.get("profiles")}
    assert base == {"postgres", "prefect-server", "deploy", "worker"}
    # the optional Dask cluster of the site's batches (--profile dask)
    assert set(services) - base == {"dask-scheduler", "dask-worker"}
    dask_worker = services["dask-worker"]
    assert dask_worker["profiles"] == ["dask"]
    assert "tcp://dask-scheduler:8786" in dask_worker["entrypoint"]
    assert dask_worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    # the same volumes as the Prefect worker, the warehouse read only (as the site reads it)
    mounts = [  # short syntax (docker-compose 1) or long syntax (docker compose 2)
        v
        if isinstance(v, str)
        else f"{v['source']}:{v['target']}:{'ro' if v.get('read_only') else 'rw'}"
        for v in dask_worker["volumes"]
    ]
    assert "warehouse:/var/lib/opendata/warehouse:ro" in mounts
    assert "OPENDATA_DASK" in services["worker"]["environment"]
    server_env = services["prefect-server"]["environment"]
    assert server_env["PREFECT_SERVER_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert server_env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    worker = services["worker"]
    assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert {v.split(":")[0] if isinstance(v, str) else v["source"] for v in worker["volumes"]} == {
        "warehouse",
        "data",
    }
    deploy = services["deploy"]
    assert "set-concurrency-limit opendata-mel 1" in " ".join(deploy["command"])
    # the failure alert, after the deployments, its webhook from the host's environment only
    assert " ".join(deploy["command"]).endswith("&& opendata-mel alertes")
    assert deploy["environment"]["OPENDATA_WEBHOOK_URL"] == ""
    assert server_env["PREFECT_UI_URL"] == "http://127.0.0.1:4200"  # the alert's links


def test_compose_refuses_to_start_without_a_database_password():
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_DB_PASSWORD"}
    done = config(env)
    assert done.returncode != 0
    assert "PREFECT_DB_PASSWORD" in done.stderr


def test_dockerfile_is_pinned_runs_as_a_user_and_ships_what_the_flows_read():
    text = (ROOT / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+$", text, re.MULTILINE)
    assert re.search(r"^USER opendata$", text, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in text
    for folder in (
        "flows",
        "tasks",
        "expectations",
        "catalog",
        "deployments",
        *(f"warehouse/{layer}" for layer in LAYERS),  # every layer of SQL models
    ):
        assert f"COPY {folder} " in text, folder
    assert "samples/build_mirror.py --paquets" in text  # the mirror's COG packages
    assert "secret" not in text.lower() and "api_key" not in text.lower()
