"""The Prefect tasks of the quality stage: validate, record, report, enforce."""

from __future__ import annotations

from pathlib import Path

import duckdb
from prefect.artifacts import create_markdown_artifact

from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.quality import gate, history
from tasks.quality.suites import suites_for
from tasks.transform import models
from tasks.transform.models import Model


@step("controler-qualite")
def check_quality(
    warehouse: Path, published: dict[str, list[str]], docs_folder: Path | None = None
) -> gate.Validation:
    """Validate every mart of a warehouse (the candidate, or the one in service), and say
    which marts are blocked.

    A mart still waiting for its first data (facultative sources never loaded) is not
    validated: `awaiting_data` names it in the summary. `published`: the key of each
    mart a fiche publishes (Catalog.published_keys)."""
    every = models.discover()
    marts = [model for model in every if model.layer == "marts"]
    suites_for(marts)  # every mart has a valid suite, even one waiting for data
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        waiting = models.awaiting_data(conn, every)
        ready = [mart for mart in marts if mart.name not in waiting]
        return validate_marts(conn, ready, every, published, docs_folder)


def validate_marts(
    conn: duckdb.DuckDBPyConnection,
    marts: list[Model],
    every: list[Model],
    published: dict[str, list[str]],
    docs_folder: Path | None = None,
) -> gate.Validation:
    """The suites of `marts`, with the keys the catalogue publishes them under, and the
    marts blocked among `every` (those built from a failed one included)."""
    validation = gate.validate(conn, suites_for(marts), published, _run_id(), docs_folder)
    validation.blocked = gate.blocked_marts(validation.outcomes, every)
    return validation


@step("historiser-controles")
def record_quality(candidate: Path, validation: gate.Validation) -> None:
    with connect(candidate) as conn:
        history.record(conn, validation)


@step("rapport-qualite")
def report_quality(validation: gate.Validation) -> None:
    """The validation as a Prefect artifact: per mart, then each failure with samples."""
    create_markdown_artifact(
        key="controle-qualite",
        markdown=history.markdown(validation),
        description=f"{len(validation.blocked)} mart(s) bloqué(s)",
    )


@step("appliquer-barriere-qualite")
def enforce_quality(validation: gate.Validation) -> None:
    gate.enforce(validation)


def _run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id
