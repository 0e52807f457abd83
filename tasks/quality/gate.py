"""Quality gate: every mart validated with its suite and the common checks, on a
DataFrame, in one Great Expectations context.

GX's SQL datasource does not work with DuckDB, so each mart is read into pandas and
validated with an ephemeral context. A failed critical expectation blocks its mart and
every mart built from it (`blocked_marts`); the other marts go on.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier

from tasks.core.errors import ConfigurationError, QualityGateFailed
from tasks.core.sql import quote_ident
from tasks.quality import data_docs
from tasks.quality.messages import (
    SAMPLE_SIZE,
    described,
    explain,
    plain,
    raised_message,
    rule,
    samples,
)
from tasks.quality.suites import SUITE, Suite, build_expectation, common_expectations
from tasks.transform.models import Model, upstream_marts


@dataclass
class Outcome:
    mart: str
    expectation: str
    rule: str
    column: str | None
    severity: str
    success: bool
    observed: object = None
    unexpected_count: int | None = None
    samples: list[str] = field(default_factory=list)
    error: str | None = None
    origin: str = SUITE
    millesime: int | None = None

    def describe(self) -> str:
        text = f"[{self.mart}] {self.rule} ({self.expectation})"
        if self.error:
            return f"{text} : {self.error}"
        if self.unexpected_count:
            text += f" : {self.unexpected_count} valeur(s) en écart"
        elif self.observed is not None:
            text += f" : valeur observée {self.observed}"
        if self.samples:
            text += f" ; exemples : {', '.join(self.samples)}"
        return text


@dataclass
class Validation:
    """One validation of the marts of a warehouse: what passed, what is blocked and why."""

    run_id: str
    validated_at: dt.datetime
    outcomes: list[Outcome]
    blocked: dict[str, str] = field(default_factory=dict)
    docs: Path | None = None
    docs_pages: dict[str, Path] = field(default_factory=dict)

    @property
    def marts(self) -> list[str]:
        return list(dict.fromkeys(o.mart for o in self.outcomes))


@dataclass
class Gate:
    """One validation under way: a single GX context for every mart, so that the Data
    Docs and the history hold one run."""

    context: object
    source: object
    validation: Validation
    docs_folder: Path | None
    results: dict = field(default_factory=dict)

    @property
    def gx_run(self) -> RunIdentifier:
        return RunIdentifier(run_name=self.validation.run_id, run_time=self.validation.validated_at)


def open_gate(run_id: str | None = None, docs_folder: Path | None = None) -> Gate:
    context = _context()
    if docs_folder is not None:
        data_docs.prepare(context, docs_folder)
    validation = Validation(run_id or str(uuid.uuid4()), dt.datetime.now(dt.UTC), [])
    return Gate(context, context.data_sources.add_pandas("marts"), validation, docs_folder)


def _frame(conn: duckdb.DuckDBPyConnection, mart: str) -> pd.DataFrame:
    """The mart as a pandas frame for GX, its text columns as categories: a national
    long mart (the comparateur of France, 1.1 million rows) repeats the same few texts,
    which as Python strings would take ~1 GB. Read through Arrow, never as objects."""
    relation = conn.table(f"marts.{quote_ident(mart)}")
    # decimals as floats, as DuckDB's own pandas conversion gives them
    columns = ", ".join(
        f"{quote_ident(name)}::double as {quote_ident(name)}"
        if str(kind).startswith("DECIMAL")
        else quote_ident(name)
        for name, kind in zip(relation.columns, relation.types, strict=True)
    )
    table = relation.project(columns).arrow()
    if hasattr(table, "read_all"):  # a record batch reader (DuckDB 2.0)
        table = table.read_all()
    return table.to_pandas(strings_to_categorical=True)


def check_mart(
    gate: Gate,
    conn: duckdb.DuckDBPyConnection,
    suite: Suite,
    published_keys: dict[str, list[str]],
) -> list[Outcome]:
    """Validate one mart with its suite and the common checks; its outcomes join the
    gate's validation, and are returned."""
    frame = _frame(conn, suite.mart)
    definition = _definition(gate.context, gate.source, suite, frame, published_keys)
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format=_result_format(frame),
        run_id=gate.gx_run,
    )
    millesime = _newest_millesime(frame)
    outcomes = [_outcome(suite.mart, item, frame, millesime) for item in result.results]
    gate.validation.outcomes += outcomes
    gate.results[suite.mart] = result
    return outcomes


def close_gate(gate: Gate) -> Validation:
    """The validation, with its GX Data Docs written into the gate's folder when given."""
    validation = gate.validation
    if gate.docs_folder is not None:
        validation.docs, validation.docs_pages = data_docs.build(
            gate.context, gate.docs_folder, gate.results
        )
    return validation


def validate(
    conn: duckdb.DuckDBPyConnection,
    suites: list[Suite],
    published_keys: dict[str, list[str]] | None = None,
    run_id: str | None = None,
    docs_folder: Path | None = None,
) -> Validation:
    """Validate each mart with its suite and the common checks, in one GX context; the
    GX Data Docs of this validation are written into `docs_folder` when given."""
    gate = open_gate(run_id, docs_folder)
    for suite in suites:
        check_mart(gate, conn, suite, published_keys or {})
    return close_gate(gate)


def _definition(context, source, suite: Suite, frame: pd.DataFrame, published_keys: dict):
    """The GX validation of one mart: its suite and the common checks, on its DataFrame."""
    common = common_expectations(suite, list(frame.columns), published_keys.get(suite.mart))
    # copies: GX binds an expectation to the one suite it is added to
    expected = [
        *map(copy.copy, suite.expectations),
        *(build_expectation(entry, suite.path) for entry in common),
    ]
    for expectation in expected:
        expectation.description = described(expectation)
    gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.mart, expectations=expected))
    if len(gx_suite.expectations) != len(expected):
        raise ConfigurationError(
            "Great Expectations a écarté une attente de la suite",
            where=str(suite.path),
            action="vérifiez chaque attente de la suite",
        )
    asset = source.add_dataframe_asset(name=suite.mart)
    return context.validation_definitions.add(
        gx.ValidationDefinition(
            name=suite.mart, data=asset.add_batch_definition_whole_dataframe("tout"), suite=gx_suite
        )
    )


def blocked_marts(outcomes: list[Outcome], models: list[Model]) -> dict[str, str]:
    """Marts that may not go on: a critical expectation of theirs failed, or they are
    built from such a mart (read directly or through staging models)."""
    failed = {}
    for outcome in outcomes:
        if outcome.severity == "critical" and not outcome.success:
            failed.setdefault(outcome.mart, []).append(outcome)
    blocked = {
        mart: f"{len(items)} attente(s) critique(s) en échec" for mart, items in failed.items()
    }
    for model in models:
        if model.layer != "marts" or model.name in blocked:
            continue
        upstream = sorted(upstream_marts(model, models) & set(failed))
        if upstream:
            blocked[model.name] = f"construit à partir du mart bloqué {', '.join(upstream)}"
    return blocked


def enforce(validation: Validation) -> None:
    """End the run as failed, naming each blocked mart, once the others have gone on."""
    if not validation.blocked:
        return
    failing = [o for o in validation.outcomes if o.severity == "critical" and not o.success]
    lines = [f"    - {mart} : {why}" for mart, why in validation.blocked.items()]
    raise QualityGateFailed(
        f"{len(validation.blocked)} mart(s) bloqué(s), ni exporté(s) ni publié(s) :\n"
        + "\n".join(lines)
        + f"\n  {len(failing)} attente(s) critique(s) non respectée(s) :\n"
        + "\n".join(f"    - {o.describe()}" for o in failing),
        where="contrôle qualité (les autres marts ont suivi leur cours : export, publication)",
        action="examinez les valeurs citées dans la source. Un mart bloqué garde dans "
        "l'entrepôt sa dernière version validée ; la version refusée est dans le schéma "
        '`rejets` (uv run opendata-mel sql "select * from rejets.<mart>"). Détail : '
        "uv run opendata-mel qualite",
    )


def _context():
    # GX announces a temporary Data Docs folder at INFO on every ephemeral context.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context


def _result_format(frame: pd.DataFrame) -> dict:
    """Up to 10 unexpected values and their row numbers, which name their commune here.

    Not COMPLETE: listing every unexpected row with its code takes 10 to 15 times longer
    on France-size marts (bench/quality_gate.py); the Data Docs then show the values
    without their commune, which the artifact and `make quality` give."""
    return {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}


def _newest_millesime(frame: pd.DataFrame) -> int | None:
    for column in ("millesime", "millesime_cog"):
        if column in frame.columns and frame[column].notna().any():
            return int(frame[column].max())
    return None


def _outcome(mart: str, item, frame: pd.DataFrame, millesime: int | None = None) -> Outcome:
    config = item.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    details = item.result or {}
    raised = raised_message(item.exception_info)
    error = None if raised is None else explain(raised, kwargs, frame)
    return Outcome(
        mart=mart,
        expectation=config.type,
        rule=rule(config.type, kwargs),
        column=kwargs.get("column"),
        severity=(config.meta or {}).get("severity", "critical"),
        success=bool(item.success),
        observed=plain(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        samples=samples(details, frame, kwargs.get("column")),
        error=error,
        origin=(config.meta or {}).get("origine", SUITE),
        millesime=millesime,
    )
