"""Faults of a publication to a real udata on 127.0.0.1, as a data officer meets them:
the refresh's publication cut off by the network, then `opendata-mel publish` killed
(kill -9) in its middle, then run again: it converges, nothing twice; a run killed while
writing a file leaves it whole; and the secrets of a run (the API key, the alert webhook's
address) never appear in what it writes, logs or shows, even when an error page repeats
the request's headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
import zipfile
from pathlib import Path

import duckdb
import pytest
import requests

from flows.yearly_refresh import yearly_refresh
from tasks.core.sql import quote_ident
from tasks.publication import files
from tasks.publication.catalog import load_catalog, record_dataset_id
from tasks.publication.datagouv import PublicationError, TransientPublicationError
from tasks.publication.secrets import MASK, redact
from tests.conftest import COMPARATEUR, ROOT
from tests.faulty_proxy import Fault
from tests.publication_platform import CORE, RESOURCES, Platform, data_resource

NEW_FILE = r"/api/1/datasets/[^/]+/upload/$"
REPLACED_FILE = r"/api/1/datasets/[^/]+/resources/[^/]+/upload/$"
RESOURCE_KEY = "opendata-mel:ressource"
PUBLISH = ["publish", "--env", "demo", "--no-dry-run", "--fiches", ",".join(CORE)]
# The schemas the runs write into (the others hold the sources' data, rebuilt from files).
SOURCE_SCHEMAS = ("raw", "staging", "intermediate", "marts")


# Running `opendata-mel` as the data officer does ------------------------------------------
def cli_env() -> dict[str, str]:
    """The data officer's terminal (the platform's variables, the secrets), its runs
    landing on the session's Prefect API: no ephemeral server to start."""
    from prefect.settings import PREFECT_API_URL

    return {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, killed whole
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    process = start(args, env)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def webhook() -> str:
    """The alert webhook's address, a secret, new for each test."""
    return f"http://127.0.0.1:9/hooks/SECRET-WEBHOOK-{uuid.uuid4().hex}"


# The platform and the local files -----------------------------------------------------------
def revise_sailly_population(mirror_dir: Path) -> None:
    """INSEE revises a published figure: Sailly-lez-Lannoy's population of 2022, 1936 →
    1940, in the comparateur file the mirror serves (newer: the refresh downloads it)."""
    served = mirror_dir / COMPARATEUR
    with zipfile.ZipFile(served) as archive:
        text = archive.read("base_cc_comparateur.csv").decode("utf-8")
    assert text.count("\n59522;1936;") == 1
    with zipfile.ZipFile(served, "w") as archive:
        archive.writestr("base_cc_comparateur.csv", text.replace("\n59522;1936;", "\n59522;1940;"))
    later = time.time() + 60
    os.utime(served, (later, later))


def publish_only_core(platform: Platform) -> None:
    """The organisations publish the reference and the comparateur only (the cheapest
    catalogue whose refresh publishes something)."""
    for fiche in (platform.catalog / "fiches").glob("*.yaml"):
        if fiche.stem not in CORE:
            fiche.unlink()


def local_file(folder: Path, key: str, resource: str) -> Path:
    fiche, perimetre = key.split("/")
    names = {
        "donnees": f"{fiche}-{perimetre}.csv",
        "dictionnaire": f"{fiche}-dictionnaire.csv",
        "controles": f"{fiche}-{perimetre}-controles.txt",
    }
    return folder / names[resource]


def assert_published_once(platform: Platform, folder: Path, versions: dict[str, int]) -> None:
    """Every dataset once per organisation, every resource once per dataset, every file
    the local export (sha1, size); `versions`: the kept previous versions per dataset."""
    for perimetre in ("mel", "59522"):
        datasets = platform.datasets(perimetre)
        keys = sorted(d["extras"]["opendata-mel:jeu"] for d in datasets)
        assert keys == [f"{fiche}/{perimetre}" for fiche in CORE]
        for dataset in datasets:
            key, resources = dataset["extras"]["opendata-mel:jeu"], dataset["resources"]
            # A resource without our key is a file uploaded twice, or never described.
            names = [r["extras"].get(RESOURCE_KEY) or r["title"] for r in resources]
            kept = [name for name in names if name.startswith("version-")]
            assert sorted(set(names) - set(kept)) == RESOURCES, (key, names)
            assert len(kept) == len(set(kept)) == versions.get(key, 0), (key, names)
            for field in ("title", "url"):
                assert len({r[field] for r in resources}) == len(resources), (key, field)
            for resource in resources:
                name = resource["extras"][RESOURCE_KEY]
                if name in kept:
                    continue
                content = local_file(folder, key, name).read_bytes()
                assert resource["checksum"]["value"] == hashlib.sha1(content).hexdigest()
                assert resource["filesize"] == len(content), (key, name)


def assert_local_state_whole(workspace: Path) -> None:
    """What the publication keeps is whole: every JSON file parses, the fiches load, the
    warehouse opens and its publication records read."""
    for path in (workspace / "data").rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    load_catalog()
    with duckdb.connect(str(workspace / "entrepot" / "opendata.duckdb"), read_only=True) as conn:
        conn.execute("select count(*) from meta.publications").fetchall()


def journal(dataset: dict) -> str:
    return data_resource(dataset)["description"]


# Where a secret could land -------------------------------------------------------------------
def prefect_records(since: dt.datetime) -> dict[str, str]:
    """The logs, artifacts, flow runs and task runs of the session's Prefect API created
    since `since`, as JSON texts."""
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL

    APILogWorker.drain_all(timeout=5)  # the logs of this process's runs are sent
    api, found = PREFECT_API_URL.value(), {}
    for kind, sort in (
        ("logs", "TIMESTAMP_DESC"),
        ("artifacts", "CREATED_DESC"),
        ("flow_runs", "EXPECTED_START_TIME_DESC"),
        ("task_runs", "EXPECTED_START_TIME_DESC"),
    ):
        records, offset = [], 0
        while True:
            page = requests.post(
                f"{api}/{kind}/filter",
                json={"sort": sort, "limit": 200, "offset": offset},
                timeout=30,
            ).json()
            fresh = [r for r in page if dt.datetime.fromisoformat(r["created"]) >= since]
            records += fresh
            if len(page) < 200 or len(fresh) < len(page):
                break
            offset += 200
        found[f"Prefect {kind}"] = json.dumps(records, ensure_ascii=False)
    return found


def warehouse_texts(warehouse: Path) -> dict[str, str]:
    """Every row of the tables the runs write (meta.*, ref.*…), as text."""
    found = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = conn.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where not list_contains($sources, schema_name)",
            {"sources": list(SOURCE_SCHEMAS)},
        ).fetchall()
        for schema, table in tables:
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            rows = conn.execute(f"select cast(t as varchar) from {name} t").fetchall()
            found[f"entrepôt {schema}.{table}"] = "\n".join(row[0] for row in rows)
    return found


def assert_no_secret(secrets: dict[str, str], texts: dict[str, str], folders: list[Path]):
    """No secret in `texts`, in any file under `folders` (the DuckDB file included, byte
    for byte: its compressed strings are read by `warehouse_texts`)."""
    leaks = [
        f"{what} dans {where}"
        for where, text in texts.items()
        for what, secret in secrets.items()
        if secret in text
    ]
    for folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file()):
            content = path.read_bytes()
            leaks += [f"{what} dans {path}" for what, s in secrets.items() if s.encode() in content]
    assert not leaks, leaks


def secrets_of(platform: Platform, hook: str) -> dict[str, str]:
    return {
        "clé d'API": platform.key,
        "début de la clé d'API": platform.key[:12],
        "adresse du webhook": hook,
        "chemin du webhook": hook.split("127.0.0.1:9", 1)[1],
    }


# Cut off, then killed (kill -9) in the middle of `opendata-mel publish` ------------------
@pytest.mark.usefixtures("prefect_api")
def test_cut_off_then_killed_mid_publication_the_rerun_converges_without_duplicate(
    platform, refreshed, mirror_dir, monkeypatch, capfd
):
    since = dt.datetime.now(dt.UTC)
    hook = webhook()
    monkeypatch.setenv("OPENDATA_WEBHOOK_URL", hook)  # both secrets set from here on
    publish_only_core(platform)
    platform.publish(datasets=["comparateur"])  # published once, before the revision
    revise_sailly_population(mirror_dir)

    # 1. The yearly refresh reads the revised file, writes its Data Docs and publishes; the
    # network goes down right after udata replaced Sailly's comparateur file (its previous
    # version kept just before): the new file, with the old description still.
    def cut_off() -> None:
        for method in ("GET", "POST", "PUT"):
            platform.proxy.fail(Fault(method, ".", times=10**6))

    platform.proxy.fail(Fault("POST", REPLACED_FILE, after_forwarding=True, then=cut_off))
    state = yearly_refresh(sources=["insee_comparateur"], dry_run=False, return_state=True)
    with pytest.raises(TransientPublicationError) as error:
        state.result()
    assert "reprend là où elle s'est arrêtée, sans créer de doublon" in error.value.message
    platform.proxy.faults.clear()
    assert "1 modifiée(s)" not in journal(platform.dataset("59522", "comparateur"))

    # 2. `opendata-mel publish`, killed (kill -9) once udata holds the 4th new file: after
    # the 3 of communes/mel (created), the copy of the MEL's published comparateur, kept
    # before its file is replaced. The publisher dies before reading the answer: the copy
    # has no title nor key yet.
    env = cli_env()
    process = start(PUBLISH, env)

    def kill_9() -> None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    platform.proxy.fail(Fault("POST", NEW_FILE, skip=3, after_forwarding=True, then=kill_9))
    killed_out, killed_err = process.communicate(timeout=300)

    assert process.returncode == -signal.SIGKILL, killed_err
    mel = platform.dataset("mel", "comparateur")
    untitled = [r["title"] for r in mel["resources"] if not r["extras"].get(RESOURCE_KEY)]
    assert untitled == [f"comparateur-mel-version-{dt.date.today()}.csv"]
    assert "1 modifiée(s)" in journal(platform.dataset("59522", "comparateur"))
    assert_local_state_whole(refreshed)

    # 3. The same command again: it converges.
    again = run(PUBLISH, env)

    assert again.returncode == 0, again.stderr
    replaced = "comparateur-mel.csv : conserver l'ancienne version, puis remplacer le fichier"
    assert replaced in again.stdout
    assert "comparateur-59522.csv : inchangé" in again.stdout
    assert "communes-mel.csv : inchangé" in again.stdout
    assert "1 ancienne(s) version(s) conservée(s)" in again.stdout
    folder = refreshed / "data" / "outputs" / "publication" / "demo"
    assert_published_once(platform, folder, {"comparateur/59522": 1, "comparateur/mel": 1})
    kept = f"version précédente conservée : « Version du {dt.date.today()} (remplacée) »"
    for perimetre in ("mel", "59522"):
        text = journal(platform.dataset(perimetre, "comparateur"))
        assert text.count("première publication") == text.count("1 modifiée(s)") == 1
        assert text.count(kept) == 1, perimetre
    writes = len(platform.proxy.writes())
    third = platform.publish()
    assert [p.key for p in third.datasets if p.touched] == []
    assert platform.proxy.writes()[writes:] == []

    # Nothing of these runs shows a secret: outputs, files, Data Docs, Prefect records.
    assert_no_secret(
        secrets_of(platform, hook),
        {
            "message de la coupure": error.value.message,
            "sortie du rafraîchissement et des publications": "".join(capfd.readouterr()),
            "sortie du processus tué": killed_out + killed_err,
            "sortie de la reprise": again.stdout + again.stderr,
            **prefect_records(since),
            **warehouse_texts(refreshed / "entrepot" / "opendata.duckdb"),
        },
        [refreshed / "data", refreshed / "entrepot", platform.catalog],
    )
    assert any(
        dt.datetime.fromtimestamp(page.stat().st_mtime, dt.UTC) >= since
        for page in (refreshed / "data").rglob("*.html")
    ), "pas de Data Docs écrites par le rafraîchissement"


# A run killed while it writes a file ---------------------------------------------------------
# The child dies (SIGKILL) halfway through the first file it writes under a folder, inside
# the real function: fault injection on the file system, the function itself runs whole.
DIE_WHILE_WRITING = textwrap.dedent(
    """
    import io, os, signal, sys
    from pathlib import Path

    under, opened = Path(sys.argv[1]).resolve(), io.open

    class Dying:
        def __init__(self, file):
            self.file = file
        def write(self, text):
            self.file.write(text[: len(text) // 2])
            self.file.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        def __getattr__(self, name):
            return getattr(self.file, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.file.close()

    def dying_open(file, mode="r", *args, **kwargs):
        handle = opened(file, mode, *args, **kwargs)
        writing = isinstance(file, (str, os.PathLike)) and any(m in mode for m in "wax")
        if writing and Path(file).resolve().is_relative_to(under):
            return Dying(handle)
        return handle

    io.open = dying_open
    """
)
DATASET_ID = "6b0f0c1d3808d50ea3626f99"
WRITE_FICHE_ID = f"""
from tasks.publication.catalog import load_catalog, record_dataset_id
fiche = next(f for f in load_catalog().fiches if f.name == "communes")
record_dataset_id(fiche, "mel", "demo", "{DATASET_ID}")
"""
WRITE_PLAN = """
from tasks.publication.plan import PublicationReport
PublicationReport("demo", "demo.data.gouv.fr", True, "rien").write(Path(sys.argv[1]))
"""


def communes_of(catalog: Path):
    return next(f for f in load_catalog(catalog).fiches if f.name == "communes")


def die_while_writing(code: str, under: Path, catalog: Path) -> int:
    """Run `code` in a child that dies halfway through its first write under `under`."""
    done = subprocess.run(
        [sys.executable, "-c", DIE_WHILE_WRITING + textwrap.dedent(code), str(under)],
        cwd=ROOT,
        env={**os.environ, "OPENDATA_CATALOG": str(catalog)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode


def test_a_run_killed_while_writing_leaves_the_fiche_and_the_plan_whole(tmp_path):
    catalog = shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    fiche = catalog / "fiches" / "communes.yaml"
    before = fiche.read_text(encoding="utf-8")

    assert die_while_writing(WRITE_FICHE_ID, catalog / "fiches", catalog) == -signal.SIGKILL

    assert fiche.read_text(encoding="utf-8") == before  # the half is in its partial copy
    assert files.partial_path(fiche).exists()
    record_dataset_id(communes_of(catalog), "mel", "demo", DATASET_ID)  # the next run
    assert communes_of(catalog).dataset_id("mel", "demo") == DATASET_ID
    assert not files.partial_path(fiche).exists()
    plans = tmp_path / "publication"
    plans.mkdir()
    previous = {"plan-demo.md": "# Plan de publication\n", "plan-demo.json": '{"env": "demo"}'}
    for name, text in previous.items():
        (plans / name).write_text(text, encoding="utf-8")

    assert die_while_writing(WRITE_PLAN, plans, catalog) == -signal.SIGKILL

    assert {name: (plans / name).read_text(encoding="utf-8") for name in previous} == previous


# The secrets never appear, even in an error page that repeats them -----------------------
@pytest.mark.usefixtures("prefect_api")
def test_an_error_page_echoing_the_headers_never_shows_the_key(
    platform, refreshed, capfd, monkeypatch
):
    since = dt.datetime.now(dt.UTC)
    hook = webhook()
    monkeypatch.setenv("OPENDATA_WEBHOOK_URL", hook)
    # A gateway in front of the platform answers with the request's headers: a 401, then
    # a 400 (its text is quoted in the message), both with the key's header in them.
    messages = []
    for method, path, status in (("GET", "/organizations/", 401), ("POST", r"/datasets/$", 400)):
        platform.proxy.fail(Fault(method, path, status=status, echo=True))
        state = platform.publish(datasets=["communes"], return_state=True)
        with pytest.raises(PublicationError) as error:
            state.result()
        messages.append(error.value.message)
        platform.proxy.faults.clear()

    assert "clé d'API refusée (invalide ou expirée) (HTTP 401" in messages[0]
    assert "métadonnées refusées : 400 POST /api/1/datasets/" in messages[1]
    assert "X-API-KEY: [secret masqué]" in messages[1]
    assert platform.datasets("mel") == platform.datasets("59522") == []
    captured = capfd.readouterr()
    assert_no_secret(
        secrets_of(platform, hook),
        {
            **{f"message d'erreur {i}": message for i, message in enumerate(messages)},
            "sortie des exécutions": captured.out + captured.err,
            **prefect_records(since),
            **warehouse_texts(refreshed / "entrepot" / "opendata.duckdb"),
        },
        [refreshed / "data", refreshed / "entrepot", platform.catalog],
    )


def test_a_requests_error_naming_the_webhook_is_redacted(monkeypatch):
    hook = webhook()
    monkeypatch.setenv("OPENDATA_WEBHOOK_URL", hook)
    monkeypatch.setenv("DATAGOUV_API_KEY_PROD", key := f"udata_{uuid.uuid4().hex}")
    with pytest.raises(requests.ConnectionError) as error:  # nothing listens on port 9
        requests.post(hook, json={}, timeout=5)
    assert hook.split("127.0.0.1:9", 1)[1] in str(error.value)  # requests names its path

    text = redact(f"{error.value} ; en-têtes : {{'X-API-KEY': '{key}'}}")

    assert "SECRET-WEBHOOK" not in text and key[:12] not in text
    assert text.count(MASK) == 2
