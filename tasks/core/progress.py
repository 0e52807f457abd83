"""The progress of long work (a download, the site of every commune, a publication of
many datasets): a bar in the terminal, a progress artifact in the Prefect UI.

    with progress("Construction du site citoyen", total=95, unit="communes",
                  key="progression-site-citoyen") as bar:
        bar.advance(25)

The bar is drawn on stderr only when stderr is a terminal, unless `TERM=dumb` or
`OPENDATA_PROGRESS=0`: piped output and CI logs get none. It is drawn on the console of
Prefect's log handler when there is one, so that log lines print above it, not through it.

The artifact (`key`) is written only inside a Prefect flow or task run, and throttled: the
first value, then at most one update a second and only once the percentage has gained
5 points (every 5 s when the total is unknown), then the last value: a 95-commune site
makes a handful of API calls, not 95. With `after`, work over sooner (a small download)
writes no artifact at all. Progress never makes the work fail: an API error stops the
artifact, not the work.

Generic: nothing here knows a pipeline.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.errors import LiveError
from rich.progress import BarColumn, ProgressColumn, Task, TextColumn
from rich.progress import Progress as RichProgress
from rich.table import Column
from rich.text import Text

from tasks.core.text import french_decimal, french_number

BYTES = "o"  # the unit of a download: sizes are written in o, ko, Mo, Go
log = logging.getLogger(__name__)


def terminal_wanted(stream=None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a bar may be drawn on `stream` (stderr by default): a terminal, not a
    dumb one, and progress not switched off (`OPENDATA_PROGRESS=0`)."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    if environ.get("OPENDATA_PROGRESS", "").strip() == "0" or environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no stream (pythonw), or a closed one
        return False


def artifact_key(text: str) -> str:
    """A valid Prefect artifact key (lowercase letters, digits, dashes) from any text:
    « base_cc_comparateur_csv.zip » → « base-cc-comparateur-csv-zip »."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def amount(value: float, unit: str) -> str:
    """« 12,3 Mo » for bytes, else « 12 communes », « 1 commune »: `unit` is written in
    the plural, and its first word loses its final s or x below 2 (jeux → 1 jeu)."""
    if unit != BYTES:
        return f"{french_number(int(value))} {_agreed(unit, value)}".strip()
    for size, name in ((1e9, "Go"), (1e6, "Mo"), (1e3, "ko")):
        if value >= size:
            return f"{french_decimal(value / size, 1)} {name}"
    return f"{int(value)} o"


def _agreed(unit: str, value: float) -> str:
    if value >= 2 or not unit:
        return unit
    first, *rest = unit.split(" ", 1)
    return " ".join([first[:-1] if first[-1] in "sx" else first, *rest])


def measure(completed: float, total: float | None, unit: str) -> str:
    """What is done, in French: « 2 sur 95 communes », « 1,2 Mo sur 3,4 Mo »,
    « 1,2 Mo (taille inconnue) »."""
    if unit == BYTES:
        if total is None:
            return f"{amount(completed, unit)} (taille inconnue)"
        return f"{amount(completed, unit)} sur {amount(total, unit)}"
    if total is None:
        return amount(completed, unit)
    return f"{french_number(int(completed))} sur {amount(total, unit)}"


def percent(completed: float, total: float | None) -> float | None:
    """0 to 100, or None when the total is unknown."""
    if total is None:
        return None
    return 100.0 if total <= 0 else max(0.0, min(100.0, 100.0 * completed / total))


@dataclass
class Throttle:
    """When the artifact may be updated again (the first time: at once)."""

    interval: float = 1.0  # seconds between two updates, at least
    step: float = 5.0  # percentage points gained between two updates, at least
    unknown_interval: float = 5.0  # seconds between two updates without a total
    clock: Callable[[], float] = time.monotonic
    _time: float | None = None
    _percent: float = 0.0

    def due(self, value: float | None) -> bool:
        if self._time is None:
            return True
        elapsed = self.clock() - self._time
        if value is None:
            return elapsed >= self.unknown_interval
        return elapsed >= self.interval and value - self._percent >= self.step

    def mark(self, value: float | None) -> None:
        self._time, self._percent = self.clock(), value or 0.0


class PrefectArtifacts:
    """Prefect's progress artifacts, in the current flow or task run."""

    def create(self, key: str, value: float, description: str):
        from prefect.artifacts import create_progress_artifact

        return create_progress_artifact(
            progress=value, key=key, description=description, _sync=True
        )

    def update(self, artifact_id, value: float, description: str) -> None:
        from prefect.artifacts import update_progress_artifact

        update_progress_artifact(
            artifact_id=artifact_id, progress=value, description=description, _sync=True
        )


class Artifact:
    """The progress artifact of one piece of work, created at once, or once the work
    has lasted `after` seconds."""

    def __init__(
        self,
        key: str,
        after: float = 0.0,
        *,
        api=None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.key, self.after, self.clock = artifact_key(key), after, clock
        self.api = api or PrefectArtifacts()
        self.throttle = Throttle(clock=clock)
        self.started = clock()
        self.id = None
        self.stopped = False  # after an API error: the work goes on without it

    def changed(self, work: Progress) -> None:
        if self.stopped or (self.id is None and self.clock() - self.started < self.after):
            return
        if self.id is None or self.throttle.due(work.percent):
            self._send(work.percent or 0.0, work.describe())

    def finish(self, work: Progress, done: bool) -> None:
        if self.stopped or (self.id is None and self.clock() - self.started < self.after):
            return
        value = 100.0 if done else (work.percent or 0.0)
        self._send(value, work.describe("terminé" if done else "interrompu"))

    def _send(self, value: float, description: str) -> None:
        try:
            if self.id is None:
                self.id = self.api.create(self.key, value, description)
            else:
                self.api.update(self.id, value, description)
        except Exception as error:  # the artifact is a view: never fail the work for it
            self.stopped = True
            log.warning("Progression « %s » non transmise à Prefect : %s", self.key, error)
            return
        self.throttle.mark(value)


class Progress:
    """What the work holds: `advance` it; the bar and the artifact follow."""

    def __init__(
        self,
        label: str,
        total: float | None,
        unit: str = "",
        bar: Bar | None = None,
        artifact: Artifact | None = None,
    ):
        self.label, self.total, self.unit = label, total, unit
        self.completed = 0.0
        self.bar, self.artifact = bar, artifact

    @property
    def percent(self) -> float | None:
        return percent(self.completed, self.total)

    def describe(self, ending: str = "") -> str:
        """« Construction du site citoyen : 40 sur 95 communes (42 %) »."""
        text = f"{self.label} : {measure(self.completed, self.total, self.unit)}"
        if self.total is not None:
            text += f" ({int(self.percent)} %)"
        return f"{text}, {ending}" if ending else text

    def advance(self, amount: float = 1) -> None:
        self.completed += amount
        if self.bar:
            self.bar.advance(amount)
        if self.artifact:
            self.artifact.changed(self)

    def finish(self, done: bool) -> None:
        if done and self.total is not None:
            self.completed = max(self.completed, self.total)
        if self.bar:
            self.bar.close(self.completed, done)
        if self.artifact:
            self.artifact.finish(self, done)


@contextmanager
def progress(
    label: str,
    total: float | None = None,
    *,
    unit: str = "",
    key: str | None = None,
    after: float = 0.0,
) -> Iterator[Progress]:
    """Progress of `total` `unit` (None: unknown, the bar only pulses; 0: nothing to
    show), labelled in French; a progress artifact `key` inside a Prefect run."""
    if total == 0:
        yield Progress(label, total, unit)
        return
    bar = DISPLAY.add(label, total, unit, _console()) if terminal_wanted() else None
    artifact = Artifact(key, after) if key and _in_prefect_run() else None
    work = Progress(label, total, unit, bar, artifact)
    if artifact:
        artifact.changed(work)
    try:
        yield work
    except BaseException:
        work.finish(done=False)
        raise
    work.finish(done=True)


def _in_prefect_run() -> bool:
    if "prefect.context" not in sys.modules:  # no run without it; importing it takes ~2 s
        return False
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _console() -> Console:
    """The console of Prefect's log handler when it writes to the terminal: the bar then
    stays below the log lines."""
    for handler in logging.getLogger().handlers:
        console = getattr(handler, "console", None)
        if isinstance(console, Console) and console.is_terminal:
            return console
    return Console(file=sys.stderr)


def _columns() -> list[ProgressColumn]:
    # Colours, not rich's style names: Prefect's console has a theme of its own, without
    # them (« Failed to get style 'bar.back' » in rich's drawing thread otherwise).
    # The label takes the room the numbers leave: a narrow terminal shortens it, never them.
    label = Column(ratio=1, overflow="ellipsis", no_wrap=True, min_width=10)
    return [
        TextColumn("{task.description}", style="none", markup=False, table_column=label),
        BarColumn(
            bar_width=24,
            style="grey37",
            complete_style="cyan",
            finished_style="green",
            pulse_style="cyan",
        ),
        _Percent(table_column=Column(no_wrap=True)),
        _Measure(table_column=Column(no_wrap=True)),
        _Elapsed(table_column=Column(no_wrap=True)),
    ]


class _Elapsed(ProgressColumn):
    def render(self, task: Task) -> Text:
        seconds = int(task.finished_time if task.finished else task.elapsed or 0)
        return Text(f"{seconds // 60}:{seconds % 60:02d}", style="yellow")


class _Percent(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text("" if task.total is None else f"{int(percent(task.completed, task.total))} %")


class _Measure(ProgressColumn):
    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        if task.total is None:
            return Text(amount(task.completed, unit))
        return Text(measure(task.completed, task.total, unit))


class Bar:
    """One line of the display."""

    def __init__(self, display: Display, task_id):
        self.display, self.task_id = display, task_id

    def advance(self, amount: float) -> None:
        self.display.advance(self.task_id, amount)

    def close(self, completed: float, done: bool) -> None:
        self.display.close(self.task_id, completed, done)


class Display:
    """One rich display for every bar open at once (rich draws one live display per
    console): started with the first bar, stopped when the last one closes, the bars
    left on screen as they ended."""

    def __init__(self):
        self._lock = threading.Lock()
        self._progress: RichProgress | None = None
        self._open = 0

    def add(self, label: str, total: float | None, unit: str, console: Console) -> Bar | None:
        with self._lock:
            if self._progress is None:
                shown = RichProgress(*_columns(), console=console, expand=True)
                try:
                    shown.start()
                except LiveError:  # another live display holds this console
                    return None
                self._progress = shown
            self._open += 1
            return Bar(self, self._progress.add_task(label, total=total, unit=unit))

    def advance(self, task_id, amount: float) -> None:
        with self._lock:
            if self._progress is not None:
                self._progress.advance(task_id, amount)

    def close(self, task_id, completed: float, done: bool) -> None:
        with self._lock:
            if self._progress is None:
                return
            ended = {"total": completed} if done and self._task(task_id).total is None else {}
            self._progress.update(task_id, completed=completed, **ended)
            self._open -= 1
            if self._open == 0:
                self._progress.stop()
                self._progress = None

    def _task(self, task_id) -> Task:
        return next(task for task in self._progress.tasks if task.id == task_id)


DISPLAY = Display()
