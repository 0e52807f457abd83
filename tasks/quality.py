"""Quality gate: one Great Expectations suite per mart, validated on a DataFrame.

GX's SQL datasource does not work with DuckDB, so each mart is read into pandas and
validated with an ephemeral context. GX silently drops an expectation it cannot
parse: each one is built here explicitly, and a suite that loses one is refused.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from tasks.errors import ConfigurationError, QualityGateFailed
from tasks.models import Model
from tasks.settings import PROJECT_ROOT
from tasks.sql import quote_ident

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEVERITIES = ("critical", "warning")
SAMPLE_SIZE = 10

# The rule of each expectation type, in words a data officer reads.
RULES = {
    "expect_column_to_exist": "la colonne {column} existe",
    "expect_column_values_to_not_be_null": "la colonne {column} est toujours renseignée",
    "expect_column_values_to_be_unique": "chaque valeur de {column} est unique",
    "expect_compound_columns_to_be_unique": "chaque combinaison ({column_list}) est unique",
    "expect_column_values_to_match_regex": "{column} respecte le motif {regex}",
    "expect_column_values_to_be_in_set": "{column} prend une valeur parmi {value_set}",
    "expect_column_values_to_be_between": "{column} est compris entre {min_value} et {max_value}",
    "expect_column_sum_to_be_between": "la somme de {column} est comprise entre {min_value} et "
    "{max_value}",
    "expect_column_distinct_values_to_contain_set": "{column} contient {value_set}",
    "expect_column_unique_value_count_to_be_between": "le nombre de valeurs distinctes de "
    "{column} est compris entre {min_value} et {max_value}",
    "expect_column_pair_values_a_to_be_greater_than_b": "{column_A} est supérieur ou égal à "
    "{column_B}",
    "expect_table_row_count_to_be_between": "le nombre de lignes est compris entre {min_value} "
    "et {max_value}",
}


@dataclass(frozen=True)
class Suite:
    mart: str
    path: Path
    expectations: list
    severities: list[str]


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


def load_suite(path: Path) -> Suite:
    """Read a suite file, refusing it if any expectation cannot be built."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        declared = document["expectations"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ConfigurationError(
            f"suite d'attentes illisible ({error})",
            where=str(path),
            action="corrigez le JSON (un objet avec `name` et une liste `expectations`)",
        ) from error
    expectations, severities = [], []
    for index, entry in enumerate(declared, start=1):
        severity = (entry.get("meta") or {}).get("severity")
        if severity not in SEVERITIES:
            raise ConfigurationError(
                f"l'attente n°{index} ({entry.get('type')}) n'a pas de gravité valide "
                f"(meta.severity = {severity!r})",
                where=str(path),
                action='indiquez "severity": "critical" (bloque la publication) ou '
                '"warning" (signalé) dans son `meta`',
            )
        try:
            expectations.append(ExpectationConfiguration(**entry).to_domain_obj())
        except Exception as error:
            raise ConfigurationError(
                f"l'attente n°{index} ({entry.get('type')}) est invalide : {error}",
                where=str(path),
                action="vérifiez le nom de l'attente et ses arguments dans la documentation "
                "de Great Expectations",
            ) from error
        severities.append(severity)
    return Suite(path.stem, path, expectations, severities)


def suites_for(marts: list[Model], folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    missing = [mart.name for mart in marts if not (folder / f"{mart.name}.json").exists()]
    if missing:
        raise ConfigurationError(
            f"aucune suite d'attentes pour le(s) mart(s) : {', '.join(missing)}",
            where=str(folder),
            action="chaque mart publié a sa suite : créez expectations/<mart>.json",
        )
    return [load_suite(folder / f"{mart.name}.json") for mart in marts]


def validate(conn: duckdb.DuckDBPyConnection, suites: list[Suite]) -> list[Outcome]:
    context = _context()
    source = context.data_sources.add_pandas("marts")
    outcomes: list[Outcome] = []
    for suite in suites:
        frame = conn.table(f"marts.{quote_ident(suite.mart)}").df()
        batch = (
            source.add_dataframe_asset(name=suite.mart)
            .add_batch_definition_whole_dataframe("tout")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        gx_suite = gx.ExpectationSuite(name=suite.mart, expectations=list(suite.expectations))
        if len(gx_suite.expectations) != len(suite.expectations):
            raise ConfigurationError(
                "Great Expectations a écarté une attente de la suite",
                where=str(suite.path),
                action="vérifiez chaque attente de la suite",
            )
        result = batch.validate(gx_suite, result_format="SUMMARY")
        outcomes += [_outcome(suite.mart, item, frame) for item in result.results]
    return outcomes


def enforce(outcomes: list[Outcome]) -> None:
    """Stop the run when a critical expectation failed."""
    blocking = [o for o in outcomes if o.severity == "critical" and not o.success]
    if blocking:
        raise QualityGateFailed(
            f"{len(blocking)} attente(s) critique(s) non respectée(s) :\n"
            + "\n".join(f"    - {o.describe()}" for o in blocking),
            where="entrepôt candidat (l'entrepôt en service n'a pas été modifié)",
            action="examinez les valeurs citées dans la source ; la base candidate est "
            "conservée à côté de l'entrepôt (*.rejete.duckdb) pour inspection. L'entrepôt en "
            "service et les fichiers publiés n'ont pas été modifiés.",
        )


def _context():
    # GX announces a temporary Data Docs folder at INFO on every ephemeral context.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return context


def _outcome(mart: str, item, frame: pd.DataFrame) -> Outcome:
    config = item.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    details = item.result or {}
    raised = _raised_message(item.exception_info)
    error = None if raised is None else _explain(raised, kwargs, frame)
    return Outcome(
        mart=mart,
        expectation=config.type,
        rule=_rule(config.type, kwargs),
        column=kwargs.get("column"),
        severity=(config.meta or {}).get("severity", "critical"),
        success=bool(item.success),
        observed=_plain(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        samples=_samples(details, frame, kwargs.get("column")),
        error=error,
    )


def _rule(expectation: str, kwargs: dict) -> str:
    template = RULES.get(expectation, expectation.replace("_", " "))
    values = {key: _plain(value) for key, value in kwargs.items()}
    try:
        rule = template.format(**values)
    except (KeyError, IndexError):
        rule = template
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter")
    return f"{rule} (lorsque {condition})" if condition else rule


def _samples(details: dict, frame: pd.DataFrame, column: str | None) -> list[str]:
    """Up to 10 unexpected values, each with the commune it belongs to."""
    indexes = details.get("partial_unexpected_index_list") or []
    if indexes and column in frame.columns:
        rows = frame.loc[[i for i in indexes if i in frame.index][:SAMPLE_SIZE]]
        return [_labelled(row, column) for _, row in rows.iterrows()]
    return [repr(_plain(v)) for v in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]]


def _labelled(row: pd.Series, column: str) -> str:
    who = " ".join(
        str(row[c]) for c in ("code_commune", "nom_commune") if c in row and pd.notna(row[c])
    )
    return f"{who} : {_plain(row[column])!r}" if who else repr(_plain(row[column]))


def _raised_message(info) -> str | None:
    """GX nests exception details per metric when a metric could not be computed."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "") if info["raised_exception"] else None
    messages = [m for m in map(_raised_message, info.values()) if m is not None]
    return messages[0] if messages else None


def _explain(message: str, kwargs: dict, frame: pd.DataFrame) -> str:
    columns = [kwargs.get("column"), *(kwargs.get("column_list") or [])]
    absent = [c for c in columns if c and c not in frame.columns]
    if absent:
        return (
            f"la colonne {', '.join(absent)} n'existe pas dans le mart (colonnes : "
            f"{', '.join(frame.columns)})"
        )
    last_line = message.strip().splitlines()[-1] if message.strip() else "?"
    return f"l'attente n'a pas pu être évaluée ({last_line})"


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value
