"""The expectation suites: one Great Expectations suite (JSON) per mart, read whole, and
the common checks every mart gets besides its own suite.

GX silently drops an expectation it cannot parse: each one is built here explicitly, and
a suite that loses one is refused. The common checks (`common_expectations`): a mart is
not empty, its shares (`part_*`) lie within [0, 100], and a mart that a fiche publishes
has no duplicate key and no column left entirely empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from tasks.core.errors import ConfigurationError
from tasks.core.settings import PROJECT_ROOT
from tasks.transform.models import Model

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


SEVERITIES = ("critical", "warning")


SUITE, COMMON = "suite", "contrôle commun"


@dataclass(frozen=True)
class Suite:
    mart: str
    path: Path
    expectations: list
    severities: list[str]
    # Published columns a standard allows to be empty everywhere (suite `meta`,
    # `colonnes_facultatives`): exempt from the "never entirely empty" common check.
    optional: tuple[str, ...] = ()


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
    if published_key:
        entries += _published_checks(check, published_key, columns, suite.optional)
    return [entry for entry in entries if entry]


def _published_checks(
    check: Callable[..., dict | None], key: list[str], columns: list[str], optional: tuple[str, ...]
) -> list[dict | None]:
    """A published mart: its key identifies one row, and none of its columns is empty."""
    why_key = "La clé du jeu publié (fiche, `cle`) identifie une seule ligne."
    if len(key) == 1:
        entries = [check("expect_column_values_to_be_unique", why_key, column=key[0])]
    else:
        entries = [check("expect_compound_columns_to_be_unique", why_key, column_list=list(key))]
    return entries + [
        check(
            "expect_column_unique_value_count_to_be_between",
            "Une colonne publiée entièrement vide signale une source qui a changé.",
            column=column,
            min_value=1,
            max_value=None,
        )
        for column in columns
        if column not in optional
    ]


def build_expectation(entry: dict, path: Path):
    try:
        return ExpectationConfiguration(**entry).to_domain_obj()
    except Exception as error:  # a common check that GX refuses is a bug of ours
        raise ConfigurationError(
            f"contrôle commun invalide ({entry['type']}) : {error}",
            where=str(path),
            action="signalez-le : les contrôles communs sont définis dans tasks/quality/suites.py",
        ) from error


def _key_of(kwargs: dict) -> tuple:
    """What makes two checks the same: their column(s) and bounds, not their options."""
    bounds = [
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in sorted(kwargs.items())
        if name in ("column", "column_list", "min_value", "max_value") and value is not None
    ]
    return (*bounds, ("conditionnel", bool(kwargs.get("row_condition"))))
