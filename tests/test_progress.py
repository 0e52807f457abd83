"""Progress of long work, end to end, with the real CLI in its own processes, all three
started at once: `opendata-mel site` on a pseudo-terminal (a flow: its bar below
Prefect's log lines, its progress artifact on the session's Prefect API, so that no
ephemeral server is started), and `opendata-mel millesimes`, which downloads the INSEE
catalogue from the loopback mirror, once on a pseudo-terminal and once piped as in CI."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, SAMPLES
from tests.mirror_server import MirrorServer

CLI = Path(sys.executable).with_name("opendata-mel")
SITE = "Construction du site citoyen"
DOWNLOAD = "Téléchargement de api.insee.fr/melodi/catalog/all"
CONTROL = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07)")


@dataclass
class Runs:
    site: tuple[int, str]  # status, what the terminal received
    out_dir: Path
    catalogue: tuple[int, str]
    piped: subprocess.CompletedProcess


def in_terminal(command: list[str], env: dict[str, str], timeout: float = 180) -> tuple[int, str]:
    """Run `command` on a new pseudo-terminal of 110 columns; all it drew, control
    sequences included."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 110, 0, 0))
    process = subprocess.Popen(
        command, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    screen, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # EIO: the terminal's last writer has exited
            break
        if not chunk:
            break
        screen += chunk
    os.close(master)
    return process.wait(timeout=10), screen.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_api, refreshed_template) -> Runs:
    from prefect.settings import PREFECT_API_URL

    _, root = refreshed_template
    folder = tmp_path_factory.mktemp("progression")
    warehouse = folder / "entrepot" / "opendata.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(root / "entrepot" / "opendata.duckdb", warehouse)
    with MirrorServer(SAMPLES) as mirror:
        env = {
            **os.environ,
            "OPENDATA_WAREHOUSE": str(warehouse),
            "OPENDATA_DATA_DIR": str(folder / "data"),
            "OPENDATA_MIRROR": mirror.url,
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "TERM": "xterm-256color",  # a pipe, not the terminal type, switches the bar off
            # the size of the pseudo-terminal, said as a shell says it: under `make test`,
            # rich once drew at 80 columns (its fallback), cutting the label short
            "COLUMNS": "110",
            "LINES": "40",
        }
        env.pop("OPENDATA_PROGRESS", None)
        out_dir = folder / "site"
        site = [str(CLI), "site", "--commune", "59522", "--out", str(out_dir)]
        with ThreadPoolExecutor(2) as pool:
            on_terminal = pool.submit(in_terminal, site, env)
            catalogue = pool.submit(in_terminal, [str(CLI), "millesimes"], env)
            piped = subprocess.run(
                [str(CLI), "millesimes"], capture_output=True, env=env, cwd=ROOT, text=True
            )
            return Runs(on_terminal.result(), out_dir, catalogue.result(), piped)


def test_on_a_terminal_the_site_shows_its_bar_below_the_log_lines(runs):
    status, screen = runs.site
    assert status == 0, screen
    text = CONTROL.sub("", screen)
    assert f"{SITE} " in text and "━" in text
    last = [line for line in re.split(r"[\r\n]", text) if SITE in line][-1]
    assert re.search(r"100 % 1 sur 1 commune \d+:\d\d$", last.strip()), last
    # the log lines are printed above the bar, never through it
    finished = next(line for line in text.splitlines() if "site-59522-et-suivantes" in line)
    assert SITE not in finished
    assert "Site citoyen de Sailly-lez-Lannoy" in text  # the run's own report, after it


def test_the_site_run_has_a_progress_artifact_that_ends_at_100(runs):
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    filters = {"key": {"any_": ["progression-site-citoyen"]}, "type": {"any_": ["progress"]}}
    artifacts = requests.post(
        f"{api}/artifacts/filter", json={"artifacts": filters}, timeout=10
    ).json()
    flow_runs = requests.post(
        f"{api}/flow_runs/filter",
        json={"flow_runs": {"id": {"any_": [a["flow_run_id"] for a in artifacts]}}},
        timeout=10,
    ).json()
    ours = {r["id"] for r in flow_runs if r["parameters"].get("out_dir") == str(runs.out_dir)}
    [artifact] = [a for a in artifacts if a["flow_run_id"] in ours]
    assert artifact["data"] == 100
    assert artifact["description"] == f"{SITE} : 1 sur 1 commune (100 %), terminé"


def test_a_download_shows_a_bar_on_a_terminal_and_nothing_when_piped(runs):
    status, screen = runs.catalogue
    assert status == 0, screen
    text = CONTROL.sub("", screen)
    assert DOWNLOAD in text and "100 %" in text and "━" in text
    assert "insee_logement : millésime 2022" in text

    assert runs.piped.returncode == 0, runs.piped.stderr
    assert "insee_logement : millésime 2022" in runs.piped.stdout
    for stream in (runs.piped.stdout, runs.piped.stderr):  # CI logs stay clean
        assert "\x1b" not in stream
        assert "Téléchargement" not in stream and "━" not in stream and "%" not in stream
