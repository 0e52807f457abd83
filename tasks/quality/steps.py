"""The Prefect tasks of the quality stage: validate, record, report, enforce."""

from __future__ import annotations

from pathlib import Path

import duckdb
from prefect.artifacts import create_markdown_artifact
from prefect.states import Failed, State

from tasks.core.steps import step
from tasks.core.warehouse import connect
from tasks.quality import gate, history
from tasks.quality.suites import Suite, suites_for
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
    """The suites of `marts`, one task run each (`controler-population`…, red in the
    Prefect UI when a critical expectation fails), with the keys the catalogue publishes
    them under; then the marts blocked among `every` (those built from a failed one
    included)."""
    in_a_run = _in_a_run()  # called directly (`.fn()`, bench): the same checks, no task runs
    opened = gate.open_gate(_run_id(), docs_folder)
    for suite in suites_for(marts):
        if in_a_run:
            check_mart(opened, conn, suite, published, return_state=True)
        else:
            check_mart.fn(opened, conn, suite, published)
    validation = gate.close_gate(opened)
    validation.blocked = gate.blocked_marts(validation.outcomes, every)
    return validation


@step("controler-mart", run_name="controler-{suite.mart}")
def check_mart(
    opened: gate.Gate,
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    published: dict[str, list[str]],
) -> list[gate.Outcome] | State:
    """One mart's checks. Failed when a critical expectation fails: the outcomes are kept
    by the gate all the same, and the other marts go on."""
    outcomes = gate.check_mart(opened, conn, suite, published)
    failed = [o for o in outcomes if o.severity == "critical" and not o.success]
    if failed:
        return Failed(
            message=f"{suite.mart} : {len(failed)} attente(s) critique(s) en échec : "
            + " ; ".join(o.describe() for o in failed[:3]),
            data=outcomes,
        )
    return outcomes


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


def _in_a_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id
