"""Quality gate: one Great Expectations suite per mart, validated on a DataFrame.

GX's SQL datasource does not work with DuckDB, so each mart is read into pandas and
validated with an ephemeral context. GX silently drops an expectation it cannot
parse: each one is built here explicitly, and a suite that loses one is refused.

Besides its own suite, every mart gets the common checks (`common_expectations`): it
is not empty, its shares (`part_*`) lie within [0, 100], and a mart that a fiche
publishes has no duplicate key and no column left entirely empty.

A failed critical expectation blocks its mart and every mart built from it
(`blocked_marts`); the other marts go on.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from tasks.core.errors import ConfigurationError, QualityGateFailed
from tasks.core.settings import PROJECT_ROOT
from tasks.core.sql import quote_ident
from tasks.quality import data_docs
from tasks.transform.models import Model, upstream_marts

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SEVERITIES = ("critical", "warning")
SAMPLE_SIZE = 10
SUITE, COMMON = "suite", "contrôle commun"

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
# Bounds left open read better in words than as "None".
OPEN_RULES = {
    ("expect_column_values_to_be_between", "max_value"): "{column} est supérieur ou égal à "
    "{min_value}",
    ("expect_column_values_to_be_between", "min_value"): "{column} est inférieur ou égal à "
    "{max_value}",
    ("expect_table_row_count_to_be_between", "max_value"): "le mart a au moins {min_value} "
    "ligne(s)",
    ("expect_column_unique_value_count_to_be_between", "max_value"): "{column} a au moins "
    "{min_value} valeur(s) renseignée(s) distincte(s)",
}


@dataclass(frozen=True)
class Suite:
    mart: str
    path: Path
    expectations: list
    severities: list[str]
    # Published columns a standard allows to be empty everywhere (suite `meta`,
    # `colonnes_facultatives`): exempt from the "never entirely empty" common check.
    optional: tuple[str, ...] = ()


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
    optional = tuple((document.get("meta") or {}).get("colonnes_facultatives") or ())
    return Suite(path.stem, path, expectations, severities, optional)


def suites_for(marts: list[Model], folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    missing = [mart.name for mart in marts if not (folder / f"{mart.name}.json").exists()]
    if missing:
        raise ConfigurationError(
            f"aucune suite d'attentes pour le(s) mart(s) : {', '.join(missing)}",
            where=str(folder),
            action="chaque mart publié a sa suite : créez expectations/<mart>.json",
        )
    return [load_suite(folder / f"{mart.name}.json") for mart in marts]


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


def common_expectations(
    suite: Suite, columns: list[str], published_key: list[str] | None
) -> list[dict]:
    """The checks every mart gets, unless its own suite already declares the same one."""
    declared = {(e.expectation_type, _key_of(e.configuration.kwargs)) for e in suite.expectations}

    def check(kind: str, why: str, **kwargs) -> dict | None:
        if (kind, _key_of(kwargs)) in declared:
            return None
        meta = {"severity": "critical", "origine": COMMON, "pourquoi": why}
        return {"type": kind, "kwargs": kwargs, "meta": meta}

    entries = [
        check(
            "expect_table_row_count_to_be_between",
            "Un mart vide ne doit remplacer ni un fichier ni un jeu publié.",
            min_value=1,
            max_value=None,
        ),
        *(
            check(
                "expect_column_values_to_be_between",
                "Une part s'exprime en pourcentage, entre 0 et 100.",
                column=column,
                min_value=0,
                max_value=100,
            )
            for column in columns
            if column.startswith("part_")
        ),
    ]
    why_key = "La clé du jeu publié (fiche, `cle`) identifie une seule ligne."
    if published_key and len(published_key) == 1:
        entries.append(check("expect_column_values_to_be_unique", why_key, column=published_key[0]))
    elif published_key:
        entries.append(
            check("expect_compound_columns_to_be_unique", why_key, column_list=list(published_key))
        )
    if published_key:
        entries += [
            check(
                "expect_column_unique_value_count_to_be_between",
                "Une colonne publiée entièrement vide signale une source qui a changé.",
                column=column,
                min_value=1,
                max_value=None,
            )
            for column in columns
            if column not in suite.optional
        ]
    return [entry for entry in entries if entry]


def validate(
    conn: duckdb.DuckDBPyConnection,
    suites: list[Suite],
    published_keys: dict[str, list[str]] | None = None,
    run_id: str | None = None,
    docs_folder: Path | None = None,
) -> Validation:
    """Validate each mart with its suite and the common checks, in one GX context; the
    GX Data Docs of this validation are written into `docs_folder` when given."""
    context = _context()
    if docs_folder is not None:
        data_docs.prepare(context, docs_folder)
    source = context.data_sources.add_pandas("marts")
    validation = Validation(run_id or str(uuid.uuid4()), dt.datetime.now(dt.UTC), [])
    gx_run = RunIdentifier(run_name=validation.run_id, run_time=validation.validated_at)
    results = {}
    for suite in suites:
        frame = conn.table(f"marts.{quote_ident(suite.mart)}").df()
        common = common_expectations(
            suite, list(frame.columns), (published_keys or {}).get(suite.mart)
        )
        # copies: GX binds an expectation to the one suite it is added to
        expected = [
            *map(copy.copy, suite.expectations),
            *(_build(entry, suite.path) for entry in common),
        ]
        for expectation in expected:
            expectation.description = _described(expectation)
        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.mart, expectations=expected))
        if len(gx_suite.expectations) != len(expected):
            raise ConfigurationError(
                "Great Expectations a écarté une attente de la suite",
                where=str(suite.path),
                action="vérifiez chaque attente de la suite",
            )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(
                name=suite.mart,
                data=source.add_dataframe_asset(
                    name=suite.mart
                ).add_batch_definition_whole_dataframe("tout"),
                suite=gx_suite,
            )
        )
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format=_result_format(frame),
            run_id=gx_run,
        )
        millesime = _newest_millesime(frame)
        validation.outcomes += [
            _outcome(suite.mart, item, frame, millesime) for item in result.results
        ]
        results[suite.mart] = result
    if docs_folder is not None:
        validation.docs, validation.docs_pages = data_docs.build(context, docs_folder, results)
    return validation


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


def _described(expectation) -> str:
    """The rule in French, with its severity, as the Data Docs show it."""
    config = expectation.configuration
    severity = (config.meta or {}).get("severity")
    label = "bloquante" if severity == "critical" else "avertissement"
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return f"[{label}] {_rule(config.type, kwargs)}"


def _build(entry: dict, path: Path):
    try:
        return ExpectationConfiguration(**entry).to_domain_obj()
    except Exception as error:  # a common check that GX refuses is a bug of ours
        raise ConfigurationError(
            f"contrôle commun invalide ({entry['type']}) : {error}",
            where=str(path),
            action="signalez-le : les contrôles communs sont définis dans tasks/quality.py",
        ) from error


def _key_of(kwargs: dict) -> tuple:
    """What makes two checks the same: their column(s) and bounds, not their options."""
    bounds = [
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(kwargs.items())
        if name in ("column", "column_list", "min_value", "max_value") and value is not None
    ]
    return (*bounds, ("conditionnel", bool(kwargs.get("row_condition"))))


def _newest_millesime(frame: pd.DataFrame) -> int | None:
    for column in ("millesime", "millesime_cog"):
        if column in frame.columns and frame[column].notna().any():
            return int(frame[column].max())
    return None


def _outcome(mart: str, item, frame: pd.DataFrame, millesime: int | None = None) -> Outcome:
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
        origin=(config.meta or {}).get("origine", SUITE),
        millesime=millesime,
    )


def _rule(expectation: str, kwargs: dict) -> str:
    template = RULES.get(expectation, expectation.replace("_", " "))
    for bound in ("min_value", "max_value"):
        if kwargs.get(bound) is None:  # GX drops a bound left open
            template = OPEN_RULES.get((expectation, bound), template)
    values = {key: _shown_number(_plain(value)) for key, value in kwargs.items()}
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
    indexes = (details.get("partial_unexpected_index_list") or [])[:SAMPLE_SIZE]
    values = details.get("partial_unexpected_list") or []
    if indexes and isinstance(indexes[0], dict) and len(values) >= len(indexes):
        # COMPLETE format: each index is the row's code and name, beside its value
        return [
            _labelled(pd.Series(where), value)
            for where, value in zip(indexes, values[: len(indexes)], strict=True)
        ]
    if indexes and column in frame.columns:
        rows = frame.loc[[i for i in indexes if i in frame.index]]
        return [_labelled(row, row[column]) for _, row in rows.iterrows()]
    return [repr(_plain(v)) for v in values[:SAMPLE_SIZE]]


def _labelled(row: pd.Series, value) -> str:
    who = " ".join(
        str(row[c]) for c in ("code_commune", "nom_commune") if c in row and pd.notna(row[c])
    )
    return f"{who} : {_plain(value)!r}" if who else repr(_plain(value))


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


def _shown_number(value):
    """0.0 reads 0 in a rule (GX turns the bounds of a range into floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value
