"""The progress of long work (tasks/core/progress.py), without Prefect: when a bar is
drawn, how often the artifact is written, what both say in French."""

from __future__ import annotations

import io
import itertools

import pytest
from rich.console import Console
from rich.theme import Theme

from tasks.core.progress import (
    BYTES,
    Artifact,
    Display,
    Progress,
    amount,
    artifact_key,
    measure,
    progress,
    terminal_wanted,
)


class Stream:
    def __init__(self, tty: bool):
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


class Closed:
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Plays Prefect's artifact API: every call, in order."""

    def __init__(self, fail: bool = False):
        self.calls: list[tuple[str, float, str]] = []
        self.fail = fail

    def create(self, key: str, value: float, description: str):
        if self.fail:
            raise OSError("API Prefect injoignable")
        self.calls.append(("create", value, description))
        return f"id-{key}"

    def update(self, artifact_id, value: float, description: str) -> None:
        self.calls.append(("update", value, description))


def tracked(total, unit="communes", after=0.0, fail=False):
    clock, api = Clock(), Recorder(fail)
    artifact = Artifact("progression-site-citoyen", after, api=api, clock=clock)
    work = Progress("Construction du site citoyen", total, unit, artifact=artifact)
    artifact.changed(work)  # as progress() does on entering
    return work, clock, api


@pytest.mark.parametrize(
    ("stream", "environ", "wanted"),
    [
        (Stream(True), {"TERM": "xterm-256color"}, True),
        (Stream(True), {}, True),
        (Stream(False), {"TERM": "xterm-256color"}, False),  # a pipe, a CI log
        (Stream(True), {"TERM": "dumb"}, False),
        (Stream(True), {"OPENDATA_PROGRESS": "0"}, False),
        (Stream(True), {"OPENDATA_PROGRESS": "1"}, True),
        (Closed(), {}, False),
        (object(), {}, False),  # no isatty at all
    ],
)
def test_a_bar_is_drawn_only_on_a_terminal_that_wants_one(stream, environ, wanted):
    assert terminal_wanted(stream, environ) is wanted


def test_a_fast_site_of_95_communes_makes_two_api_calls_not_95():
    work, _, api = tracked(95)
    for _ in range(95):
        work.advance()
    work.finish(done=True)
    assert api.calls == [
        ("create", 0.0, "Construction du site citoyen : 0 sur 95 communes (0 %)"),
        ("update", 100.0, "Construction du site citoyen : 95 sur 95 communes (100 %), terminé"),
    ]


def test_slow_work_updates_at_most_once_a_second_and_every_5_points():
    work, clock, api = tracked(95)
    for _ in range(95):  # one commune every 0.1 s: 9.5 s in all
        clock.now += 0.1
        work.advance()
    work.finish(done=True)
    values = [value for _, value, _ in api.calls]
    assert values[0] == 0.0 and values[-1] == 100.0
    assert 3 <= len(values) <= 11  # 9.5 s: about one a second, plus the first and the last
    assert all(b - a >= 5 for a, b in itertools.pairwise(values[:-1]))  # the last: always

    work, clock, api = tracked(1000)
    for _ in range(1000):  # slow and in small steps: every 5 points, not every second
        clock.now += 1.0
        work.advance()
    assert [value for _, value, _ in api.calls] == [5.0 * n for n in range(21)]  # 0, 5… 100
    assert api.calls[1][2] == "Construction du site citoyen : 50 sur 1\u202f000 communes (5 %)"


def test_without_a_total_the_bytes_are_counted_and_the_end_is_100():
    work, clock, api = tracked(None, unit=BYTES)
    for _ in range(20):  # 1,2 Mo a second for 20 s
        clock.now += 1.0
        work.advance(1_200_000)
    work.finish(done=True)
    assert [call[:2] for call in api.calls] == [("create", 0.0)] + [("update", 0.0)] * 4 + [
        ("update", 100.0)
    ]  # every 5 s
    assert api.calls[1][2] == "Construction du site citoyen : 6,0 Mo (taille inconnue)"
    assert api.calls[-1][2].endswith(": 24,0 Mo (taille inconnue), terminé")


def test_short_work_given_a_delay_writes_no_artifact_long_work_does():
    work, clock, api = tracked(3_000_000, unit=BYTES, after=1.0)
    work.advance(3_000_000)
    clock.now = 0.4
    work.finish(done=True)
    assert api.calls == []

    work, clock, api = tracked(3_000_000, unit=BYTES, after=1.0)
    for _ in range(3):
        clock.now += 0.6
        work.advance(1_000_000)
    work.finish(done=True)
    assert [call[:2] for call in api.calls] == [("create", 66.66666666666667), ("update", 100.0)]
    assert api.calls[-1][2].endswith(": 3,0 Mo sur 3,0 Mo (100 %), terminé")


def test_interrupted_work_says_so_where_it_stopped():
    work, clock, api = tracked(4)
    clock.now = 2.0
    work.advance()
    work.finish(done=False)
    assert api.calls[-1] == (
        "update",
        25.0,
        "Construction du site citoyen : 1 sur 4 communes (25 %), interrompu",
    )


def test_an_unreachable_api_stops_the_artifact_never_the_work(caplog):
    work, clock, api = tracked(10, fail=True)
    for _ in range(10):
        clock.now += 2
        work.advance()
    work.finish(done=True)
    assert api.calls == [] and work.completed == 10
    assert "non transmise à Prefect : API Prefect injoignable" in caplog.text


def test_outside_a_terminal_and_a_prefect_run_there_is_neither_bar_nor_artifact():
    # pytest captures stderr: no terminal; no flow is running
    with progress("Téléchargement de x.zip", 10, unit=BYTES, key="telechargement-x") as work:
        work.advance(4)
    assert (work.bar, work.artifact, work.completed) == (None, None, 10)
    with progress("Rien à publier", 0, unit="jeux de données", key="progression") as work:
        work.advance(0)  # nothing to show, nothing sent
    assert (work.bar, work.artifact) == (None, None)


def test_the_bar_speaks_french_and_pulses_without_a_total():
    screen = io.StringIO()
    # as Prefect's log console: a theme of its own, without rich's default style names
    console = Console(file=screen, force_terminal=True, width=110, theme=Theme(inherit=False))
    display = Display()
    site = display.add("Construction du site citoyen", 2, "communes", console)
    download = display.add("Téléchargement de base.zip", None, BYTES, console)
    site.advance(1)
    download.advance(1_234_567)
    site.close(2, done=True)
    download.close(1_234_567, done=True)
    text = screen.getvalue()
    assert "Construction du site citoyen" in text and "100 %" in text
    assert "2 sur 2 communes" in text
    assert "Téléchargement de base.zip" in text and "1,2 Mo" in text
    assert display._progress is None  # stopped with its last bar


def test_french_amounts_and_artifact_keys():
    assert amount(999, BYTES) == "999 o"
    assert amount(12_345, BYTES) == "12,3 ko"
    assert amount(190_000_000, BYTES) == "190,0 Mo"
    assert amount(2_500_000_000, BYTES) == "2,5 Go"
    assert measure(40, 95, "communes") == "40 sur 95 communes"
    assert measure(3, None, "jeux de données") == "3 jeux de données"
    assert measure(1, None, "jeux de données") == "1 jeu de données"
    assert measure(0, 1, "communes") == "0 sur 1 commune"
    assert measure(1_500, 3_000, BYTES) == "1,5 ko sur 3,0 ko"
    assert artifact_key("telechargement-base_cc_comparateur_csv.zip") == (
        "telechargement-base-cc-comparateur-csv-zip"
    )
    assert artifact_key("Publication sur démo") == "publication-sur-demo"
