"""How the project declares a Prefect task: `@step("controler-qualite")`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE


def step(name: str, *, run_name: str | Callable[[], str] | None = None, **options: Any):
    """A Prefect task with a run name the data officer can read in the UI: the task's own
    name (`controler-qualite`, never `controler-qualite-8e6`), or `run_name`, a format
    string on the parameters or a callable (`telecharger-insee_comparateur-2022`).

    No result cache: idempotence comes from the raw manifest and the warehouse's meta
    tables, never from Prefect's cache."""
    return task(name=name, task_run_name=run_name or name, cache_policy=NO_CACHE, **options)
