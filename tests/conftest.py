from __future__ import annotations

import fcntl
import importlib.util
import os
import pickle
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pytest

from tests import udata_server as udata_server_module
from tests.census_fixtures import write_census
from tests.mirror_server import MirrorServer
from tests.social_fixtures import write_social

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "mirror"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMPARATEUR = "www.insee.fr/fr/statistiques/fichier/2521169/base_cc_comparateur_csv.zip"
# The national reference of a COG vintage, by package version (samples/build_mirror.py).
COG_COMMUNES = "unpkg.com/@etalab/decoupage-administratif@{version}/data/communes.json"
COG_EPCI = "unpkg.com/@etalab/decoupage-administratif@{version}/data/epci.json"
MOUVEMENTS = "www.insee.fr/fr/statistiques/fichier/8740222/cog_ensemble_2026_csv.zip"
FILOSOFI = (
    "www.insee.fr/fr/statistiques/fichier/6036902/base-cc-filosofi-2019_CSV.zip",
    "www.insee.fr/fr/statistiques/fichier/7756729/base-cc-filosofi-2021-geo2024_csv.zip",
)


def pytest_configure(config):
    # Before Prefect is imported: a private Prefect home, no telemetry, a patient
    # ephemeral server (migrating a fresh database takes ~25 s).
    home = Path(tempfile.mkdtemp(prefix="opendata-prefect-"))
    os.environ["PREFECT_HOME"] = str(home)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("OPENDATA_MIRROR", None)
    # The COG package files of the mirror are extracted, not committed (make install
    # does it; a bare `pytest` too).
    _mirror_builder().write_packages(only_missing=True)


def _mirror_builder():
    spec = importlib.util.spec_from_file_location(
        "build_mirror", SAMPLES.parent / "build_mirror.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Markers, from the expensive component a test uses (see README « Tests »): a test
# marked neither needs the udata virtualenv, chromium nor a Prefect server.
MARKERS = {
    "udata_server": "udata",
    "browser": "browser",
    "stack": "stack",
    "prefect_api": "flow",
}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, marker in MARKERS.items():
            if fixture in item.fixturenames:
                item.add_marker(marker)


def keep_rows(archive: Path, keep) -> None:
    """Rewrite the one CSV member of a zip with the lines `keep` accepts (header first)."""
    with zipfile.ZipFile(archive) as source:
        [member] = source.infolist()
        lines = source.read(member).decode("utf-8").splitlines(keepends=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr(member, "".join(line for line in lines if keep(line)))


def copy_tree(source: Path, target: Path) -> Path:
    """A private copy (modification times kept: the mirror serves them as Last-Modified)."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
    return target


def built_once(tmp_path_factory, name: str, build):
    """`build(folder)`'s result, built by the first test process of the session that asks
    for it and read back by the others (pytest-xdist runs one process per core, each with
    its own session): the expensive state of a session is made once per run, not once per
    process. The folder is never written after."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = shared / name, shared / f"{name}.pickle"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here while the first builds
        if done.exists():
            return pickle.loads(done.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
        folder.mkdir()
        result = build(folder)
        done.write_bytes(pickle.dumps(result))
        return result


@pytest.fixture(scope="session")
def mirror_template(tmp_path_factory) -> Path:
    """The bundled sample mirror completed with SYNTHETIC census, CAF and Observatoire
    files in the real layouts (tests/census_fixtures.py, tests/social_fixtures.py): the
    bundled mirror holds real files only, and none exists offline for them. Built once;
    never written after. Filosofi keeps its real rows of the Nord only (its whole files
    make 1.9 million values to build at every refresh; they are tested whole on their
    own: tests/unit/test_geography.py, and the demo refresh of tests/test_site.py)."""

    def build(folder: Path) -> Path:
        target = copy_tree(SAMPLES, folder / "mirror")
        for relative in FILOSOFI:
            keep_rows(target / relative, lambda line: line.startswith(("CODGEO;", "59")))
        write_census(target)
        write_social(target)
        return target

    return built_once(tmp_path_factory, "modele", build)


@pytest.fixture
def mirror_dir(tmp_path: Path, mirror_template: Path) -> Path:
    """A private copy of the completed mirror, which a test may damage."""
    return copy_tree(mirror_template, tmp_path / "mirror")


@pytest.fixture
def mirror(mirror_dir: Path):
    with MirrorServer(mirror_dir) as server:
        yield server


@pytest.fixture
def workspace(tmp_path: Path, mirror: MirrorServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment of a run: its own warehouse and data folder, reading the HTTP mirror."""
    monkeypatch.setenv("OPENDATA_WAREHOUSE", str(tmp_path / "entrepot" / "opendata.duckdb"))
    monkeypatch.setenv("OPENDATA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENDATA_MIRROR", mirror.url)
    monkeypatch.setenv("OPENDATA_HTTP_BACKOFF", "0.05")
    monkeypatch.setenv("OPENDATA_HTTP_ATTEMPTS", "3")
    return tmp_path


@pytest.fixture(scope="session")
def prefect_api():
    """A real (temporary) Prefect API for the flow tests, isolated from the user's."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    storage = tempfile.mkdtemp(prefix="opendata-prefect-results-")
    with (
        temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: storage}),
        prefect_test_harness(server_startup_timeout=120),
    ):
        yield


UDATA_VENV = udata_server_module.UDATA_VENV
# The perimeters of each publishing test: the MEL and two of its communes.
UDATA_PERIMETRES = ["mel", "59522", "59009"]
UDATA_POOL = 48  # sets of organisations: one per publishing test, with room for new tests


def _udata_python() -> Path:
    python = UDATA_VENV / "bin" / "python"
    if not python.exists():
        uv = shutil.which("uv")
        if uv is None:
            pytest.fail("udata de test absent : lancez `make test`, qui crée .venv-udata/")
        requirements = ROOT / "tests" / "udata" / "requirements.lock"
        subprocess.run([uv, "venv", "-q", "--python", "3.11", str(UDATA_VENV)], check=True)
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "--compile-bytecode",
                "--python",
                str(python),
                "-r",
                str(requirements),
            ],
            check=True,
        )
    return python


@pytest.fixture(scope="session")
def udata_server(tmp_path_factory):
    """A real udata on 127.0.0.1 (own virtualenv, mongomock), seeded for publishing."""
    workdir = tmp_path_factory.mktemp("udata")
    try:
        process, info = udata_server_module.start(
            _udata_python(),
            workdir,
            udata_server_module.seed("200093201", UDATA_POOL, UDATA_PERIMETRES),
        )
    except udata_server_module.UdataDidNotStart as error:
        pytest.fail(str(error))
    info["pool"] = iter(info.pop("organisations"))
    info["bulk_taken"] = False
    yield info
    process.kill()
    process.wait()


@pytest.fixture(scope="session")
def refreshed_template(tmp_path_factory, prefect_api, mirror_template):
    """One complete refresh of every source on the completed mirror, run once per session:
    its summary and its folder (`entrepot/`, `data/`), never written after."""

    def build(root: Path):
        from flows.yearly_refresh import yearly_refresh

        with MirrorServer(mirror_template) as server, pytest.MonkeyPatch.context() as env:
            env.setenv("OPENDATA_WAREHOUSE", str(root / "entrepot" / "opendata.duckdb"))
            env.setenv("OPENDATA_DATA_DIR", str(root / "data"))
            env.setenv("OPENDATA_MIRROR", server.url)
            return yearly_refresh(), root

    return built_once(tmp_path_factory, "complet", build)


@pytest.fixture(scope="session")
def full_run(refreshed_template):
    """The session's complete refresh: its summary and its warehouse, read only."""
    summary, root = refreshed_template
    return summary, root / "entrepot" / "opendata.duckdb"


@pytest.fixture(scope="session")
def gate_outcomes(refreshed_template):
    """The quality checks of the session's complete refresh: a publication of a private
    copy of its warehouse is gated by them, as the refresh itself passes them on."""
    summary, _ = refreshed_template
    return summary.outcomes


@pytest.fixture
def refreshed(workspace: Path, refreshed_template) -> Path:
    """A workspace as a complete refresh of its mirror leaves it: a private copy of the
    session's warehouse and data folder, for a test about what comes after a refresh."""
    _, root = refreshed_template
    for folder in ("entrepot", "data"):
        copy_tree(root / folder, workspace / folder)
    return workspace


@pytest.fixture
def platform(refreshed, udata_server, gate_outcomes, tmp_path, monkeypatch):
    """A private copy of the session's refreshed warehouse, publishing to its own
    organisations of the session's udata through a proxy that can fail on purpose
    (tests/publication_platform.py)."""
    import yaml

    from tests.faulty_proxy import FaultyProxy
    from tests.publication_platform import SIRET_SAILLY, Platform

    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    organisations = next(udata_server["pool"], None)
    if organisations is None:
        pytest.fail(
            "plus d'organisation libre dans le udata de test : augmentez UDATA_POOL "
            "dans tests/conftest.py"
        )
    with FaultyProxy(udata_server["url"]) as proxy:
        config_path = catalog / "publication.yaml"
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        config["environnements"]["demo"]["api"] = f"{proxy.url}/api/1"
        for code, entry in config["perimetres"].items():
            entry["organisations"]["demo"] = organisations[code]
        config["perimetres"]["59522"]["siret"] = SIRET_SAILLY
        config_path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("OPENDATA_CATALOG", str(catalog))
        monkeypatch.setenv("DATAGOUV_API_KEY_DEMO", udata_server["key"])
        yield Platform(
            proxy,
            udata_server["url"],
            udata_server["key"],
            udata_server["outsider_key"],
            organisations,
            catalog,
            gate_outcomes,
        )
