"""The Prefect tasks of the transform stage: models, validated marts kept, exports."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tasks.core.steps import step
from tasks.core.warehouse import connect, keep_validated
from tasks.transform import exports, models


@step("construire-modeles")
def build_models(candidate: Path) -> dict[str, int]:
    with connect(candidate) as conn:
        return models.build(conn, models.discover())


@step("reperer-marts-sans-donnees")
def marts_awaiting_data(warehouse: Path) -> dict[str, list[str]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return models.awaiting_data(conn, models.discover())


def loaded_sources(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return models.loaded_sources(conn)


@step("garder-marts-valides")
def keep_validated_marts(candidate: Path, warehouse: Path, blocked: list[str]) -> None:
    """A blocked mart goes back to its last validated version (the refused one is kept
    aside, in schema `rejets`)."""
    keep_validated(candidate, warehouse, blocked)


@step("preparer-exports")
def stage_exports(candidate: Path, folder: Path, blocked: list[str]) -> list[exports.Export]:
    """The validated marts only: a blocked mart's file keeps its last validated version."""
    every = models.discover()
    with connect(candidate) as conn:
        waiting = models.awaiting_data(conn, every)
        marts = [
            m.name
            for m in every
            if m.layer == "marts" and m.name not in waiting and m.name not in blocked
        ]
        return exports.stage(conn, marts, folder)


@step("publier-exports")
def commit_exports(staged: list[exports.Export]) -> list[exports.Export]:
    return exports.commit(staged)
