"""The quality gate in words a data officer reads: each rule in French, the unexpected
values with the commune they belong to, and what GX could not evaluate."""

from __future__ import annotations

import pandas as pd

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


def described(expectation) -> str:
    """The rule in French, with its severity, as the Data Docs show it."""
    config = expectation.configuration
    severity = (config.meta or {}).get("severity")
    label = "bloquante" if severity == "critical" else "avertissement"
    kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
    return f"[{label}] {rule(config.type, kwargs)}"


def rule(expectation: str, kwargs: dict) -> str:
    template = RULES.get(expectation, expectation.replace("_", " "))
    for bound in ("min_value", "max_value"):
        if kwargs.get(bound) is None:  # GX drops a bound left open
            template = OPEN_RULES.get((expectation, bound), template)
    values = {key: _shown_number(plain(value)) for key, value in kwargs.items()}
    try:
        rule = template.format(**values)
    except (KeyError, IndexError):
        rule = template
    condition = kwargs.get("row_condition")
    if isinstance(condition, dict):
        condition = condition.get("pass_through_filter")
    return f"{rule} (lorsque {condition})" if condition else rule


def samples(details: dict, frame: pd.DataFrame, column: str | None) -> list[str]:
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
    return [repr(plain(v)) for v in values[:SAMPLE_SIZE]]


def _labelled(row: pd.Series, value) -> str:
    who = " ".join(
        str(row[c]) for c in ("code_commune", "nom_commune") if c in row and pd.notna(row[c])
    )
    return f"{who} : {plain(value)!r}" if who else repr(plain(value))


def raised_message(info) -> str | None:
    """GX nests exception details per metric when a metric could not be computed."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "") if info["raised_exception"] else None
    messages = [m for m in map(raised_message, info.values()) if m is not None]
    return messages[0] if messages else None


def explain(message: str, kwargs: dict, frame: pd.DataFrame) -> str:
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


def plain(value):
    if hasattr(value, "item"):
        return value.item()
    return value
