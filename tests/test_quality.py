"""Guard rails on the expectation suites themselves, and the French failure messages."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tasks import models, quality
from tasks.errors import ConfigurationError, QualityGateFailed
from tasks.quality import EXPECTATIONS_DIR


def marts() -> list[models.Model]:
    return [m for m in models.discover() if m.layer == "marts"]


def write_suite(tmp_path: Path, expectations: list[dict], name: str = "communes") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(EXPECTATIONS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_suite_loads_whole(path):
    declared = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    suite = quality.load_suite(path)
    assert len(suite.expectations) == len(declared) > 0
    assert set(suite.severities) <= {"critical", "warning"}


def test_every_mart_has_a_suite_and_every_suite_a_mart():
    assert {m.name for m in marts()} == {p.stem for p in EXPECTATIONS_DIR.glob("*.json")}
    assert len(quality.suites_for(marts())) == len(marts())


def test_a_misspelled_expectation_is_refused_not_dropped(tmp_path):
    path = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"column": "code_commune"},
                "meta": {"severity": "critical"},
            },
            {
                "type": "expect_column_valuez_to_be_unique",
                "kwargs": {"column": "code_commune"},
                "meta": {"severity": "critical"},
            },
        ],
    )
    with pytest.raises(ConfigurationError) as error:
        quality.load_suite(path)
    assert (
        "n°2" in error.value.message and "expect_column_valuez_to_be_unique" in error.value.message
    )


def test_a_misspelled_argument_is_refused(tmp_path):
    path = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_unique",
                "kwargs": {"colum": "code_commune"},
                "meta": {"severity": "critical"},
            },
        ],
    )
    with pytest.raises(ConfigurationError) as error:
        quality.load_suite(path)
    assert "n°1" in error.value.message


def test_a_suite_that_is_not_json_names_its_file(tmp_path):
    path = tmp_path / "communes.json"
    path.write_text("{ pas du json", encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        quality.load_suite(path)
    assert str(path) in error.value.message


def test_an_expectation_without_severity_is_refused(tmp_path):
    path = write_suite(
        tmp_path, [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x"}}]
    )
    with pytest.raises(ConfigurationError) as error:
        quality.load_suite(path)
    assert "critical" in error.value.message and "warning" in error.value.message


def test_a_mart_without_suite_is_refused(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        quality.suites_for(marts(), folder=tmp_path)
    assert "communes" in error.value.message and "comparateur" in error.value.message


def test_failures_name_the_rule_column_and_communes(tmp_path):
    conn = duckdb.connect()
    conn.execute("create schema marts")
    conn.execute(
        "create table marts.communes as select * from (values "
        "('59522', 'Sailly-lez-Lannoy', true), ('1001', 'Abergement-Clémenciat', false), "
        "('59350', 'Lille', true)) t(code_commune, nom_commune, is_mel)"
    )
    path = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_match_regex",
                "kwargs": {"column": "code_commune", "regex": "^\\d{5}$"},
                "meta": {"severity": "critical"},
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "colonne_disparue"},
                "meta": {"severity": "critical"},
            },
            {
                "type": "expect_column_sum_to_be_between",
                "kwargs": {"column": "is_mel", "min_value": 95, "max_value": 95},
                "meta": {"severity": "warning"},
            },
        ],
    )
    outcomes = quality.validate(conn, [quality.load_suite(path)])
    by_type = {o.expectation: o for o in outcomes}
    regex = by_type["expect_column_values_to_match_regex"]
    vanished = by_type["expect_column_values_to_not_be_null"]
    count = by_type["expect_column_sum_to_be_between"]
    assert not regex.success and regex.unexpected_count == 1
    assert regex.samples == ["1001 Abergement-Clémenciat : '1001'"]
    assert not vanished.success and "colonne_disparue" in vanished.describe()
    assert "n'existe pas" in vanished.describe()
    assert not count.success and count.observed == 2 and count.severity == "warning"
    with pytest.raises(QualityGateFailed) as error:
        quality.enforce(outcomes)
    assert "2 attente(s) critique(s)" in error.value.message  # the warning does not block
    assert "code_commune respecte le motif" in error.value.message
    quality.enforce([count])  # a warning alone never raises
