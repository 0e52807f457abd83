"""Guard rails on the expectation suites themselves, and the French failure messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tasks.core.errors import ConfigurationError, QualityGateFailed
from tasks.quality import gate, history, suites
from tasks.quality.suites import EXPECTATIONS_DIR
from tasks.transform import models


def marts() -> list[models.Model]:
    return [m for m in models.discover() if m.layer == "marts"]


def write_suite(tmp_path: Path, expectations: list[dict], name: str = "communes") -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "expectations": expectations}), encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(EXPECTATIONS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_suite_loads_whole(path):
    declared = json.loads(path.read_text(encoding="utf-8"))["expectations"]
    suite = suites.load_suite(path)
    assert len(suite.expectations) == len(declared) > 0
    assert set(suite.severities) <= {"critical", "warning"}


def test_every_mart_has_a_suite_and_every_suite_a_mart():
    assert {m.name for m in marts()} == {p.stem for p in EXPECTATIONS_DIR.glob("*.json")}
    assert len(suites.suites_for(marts())) == len(marts())


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
        suites.load_suite(path)
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
        suites.load_suite(path)
    assert "n°1" in error.value.message


def test_a_suite_that_is_not_json_names_its_file(tmp_path):
    path = tmp_path / "communes.json"
    path.write_text("{ pas du json", encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        suites.load_suite(path)
    assert str(path) in error.value.message


def test_an_expectation_without_severity_is_refused(tmp_path):
    path = write_suite(
        tmp_path, [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x"}}]
    )
    with pytest.raises(ConfigurationError) as error:
        suites.load_suite(path)
    assert "critical" in error.value.message and "warning" in error.value.message


def test_a_mart_without_suite_is_refused(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        suites.suites_for(marts(), folder=tmp_path)
    assert "communes" in error.value.message and "comparateur" in error.value.message


def communes_table(conn, rows: str = "") -> None:
    conn.execute("create schema if not exists marts")
    conn.execute(
        "create or replace table marts.communes as select * from (values "
        + (
            rows
            or "('59522', 'Sailly-lez-Lannoy', true, 12.5), "
            "('1001', 'Abergement-Clémenciat', false, 140.0), ('59350', 'Lille', true, 40.0)"
        )
        + ") t(code_commune, nom_commune, is_mel, part_test)"
    )


FAILING = [
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
]


def test_failures_name_the_rule_column_and_communes(tmp_path):
    conn = duckdb.connect()
    communes_table(conn)
    path = write_suite(tmp_path, FAILING)
    validation = gate.validate(conn, [suites.load_suite(path)], docs_folder=tmp_path / "docs")
    by_type = {o.expectation: o for o in validation.outcomes if o.origin == suites.SUITE}
    regex = by_type["expect_column_values_to_match_regex"]
    vanished = by_type["expect_column_values_to_not_be_null"]
    count = by_type["expect_column_sum_to_be_between"]
    assert not regex.success and regex.unexpected_count == 1
    assert regex.samples == ["1001 Abergement-Clémenciat : '1001'"]
    # an expectation on a column that no longer exists names the column and the mart
    assert not vanished.success and "colonne_disparue" in vanished.describe()
    assert "n'existe pas" in vanished.describe() and "[communes]" in vanished.describe()
    assert not count.success and count.observed == 2 and count.severity == "warning"
    # the common check on shares: part_test = 140 is named with its commune
    share = next(o for o in validation.outcomes if o.column == "part_test")
    assert share.origin == suites.COMMON and not share.success
    assert share.samples == ["1001 Abergement-Clémenciat : 140.0"]

    validation.blocked = gate.blocked_marts(validation.outcomes, models.discover())
    # communes failed: every mart built from it is blocked too
    assert validation.blocked["communes"] == "3 attente(s) critique(s) en échec"
    assert "construit à partir du mart bloqué communes" in validation.blocked["population"]
    with pytest.raises(QualityGateFailed) as error:
        gate.enforce(validation)
    message = error.value.message
    assert "3 attente(s) critique(s)" in message  # the warning does not block
    assert "code_commune respecte le motif" in message and "population" in message
    validation.blocked = gate.blocked_marts([count], models.discover())
    gate.enforce(validation)  # a warning alone never raises

    # the Data Docs show the failure, in French, with the unexpected value
    page = validation.docs_pages["communes"].read_text(encoding="utf-8")
    assert validation.docs == tmp_path / "docs" / "index.html" and validation.docs.exists()
    assert "[bloquante] code_commune respecte le motif" in page and "1001" in page


def test_a_mart_with_zero_rows_fails_its_common_check(tmp_path):
    conn = duckdb.connect()
    communes_table(conn)
    conn.execute("delete from marts.communes")
    path = write_suite(tmp_path, FAILING[:1])
    validation = gate.validate(conn, [suites.load_suite(path)])
    empty = next(o for o in validation.outcomes if o.expectation.startswith("expect_table_row"))
    assert not empty.success and empty.observed == 0 and empty.severity == "critical"
    assert empty.rule == "le mart a au moins 1 ligne(s)"
    assert gate.blocked_marts(validation.outcomes, models.discover())["communes"]


def test_a_published_mart_has_no_duplicate_key_and_no_empty_column(tmp_path):
    conn = duckdb.connect()
    communes_table(
        conn,
        "('59522', 'Sailly-lez-Lannoy', true, null), ('59522', 'Sailly bis', true, null)",
    )
    path = write_suite(tmp_path, FAILING[:1])
    suite = suites.load_suite(path)
    validation = gate.validate(conn, [suite], {"communes": ["code_commune"]})
    failed = {o.rule: o for o in validation.outcomes if not o.success}
    assert "chaque valeur de code_commune est unique" in failed
    assert failed["part_test a au moins 1 valeur(s) renseignée(s) distincte(s)"].observed == 0
    # the same mart, not published: neither check applies
    assert not [o for o in gate.validate(conn, [suite]).outcomes if not o.success]


def test_a_check_the_suite_declares_is_not_added_twice():
    suite = suites.load_suite(EXPECTATIONS_DIR / "logement.json")
    columns = ["part_logements_vacants", "part_nouvelle"]
    added = suites.common_expectations(suite, columns, None)
    assert [e["kwargs"].get("column") for e in added] == [None, "part_nouvelle"]


def test_the_history_answers_since_when_a_check_fails(tmp_path):
    warehouse = tmp_path / "entrepot.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(
            (Path(__file__).parents[1] / "warehouse" / "schema.sql").read_text(encoding="utf-8")
        )
        communes_table(conn, "('59522', 'Sailly-lez-Lannoy', true, 10.0::double)")
        suite = suites.load_suite(write_suite(tmp_path, FAILING[:1]))
        runs = []
        for part in (10.0, 140.0, 150.0):
            conn.execute("update marts.communes set part_test = ?", [part])
            validation = gate.validate(conn, [suite], run_id=f"run-{part}")
            validation.blocked = gate.blocked_marts(validation.outcomes, [])
            history.record(conn, validation)
            runs.append(validation)
        report = history.latest_report(conn)
        rows = conn.execute(
            "select run_id, succes, exemples from meta.validations "
            "where colonne = 'part_test' order by valide_le"
        ).fetchall()
    assert rows == [
        ("run-10.0", True, None),
        ("run-140.0", False, "59522 Sailly-lez-Lannoy : 140.0"),
        ("run-150.0", False, "59522 Sailly-lez-Lannoy : 150.0"),
    ]
    assert "exécution run-150.0" in report and "BLOQUÉ : 1 attente(s) critique(s)" in report
    since = f"en échec depuis le {runs[1].validated_at:%d/%m/%Y} (2 exécutions de suite)"
    assert since in report
    assert "59522 Sailly-lez-Lannoy : 150.0" in report


def test_the_report_shows_each_marts_latest_validation(tmp_path):
    """A run that validates some marts only (the subsidies flow) hides none of the others."""
    present = {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "code_commune"},
        "meta": {"severity": "critical"},
    }
    with duckdb.connect(str(tmp_path / "entrepot.duckdb")) as conn:
        conn.execute(
            (Path(__file__).parents[1] / "warehouse" / "schema.sql").read_text(encoding="utf-8")
        )
        communes_table(conn, "('59522', 'Sailly-lez-Lannoy', true, 10.0::double)")
        conn.execute("create table marts.autre as select * from marts.communes")
        loaded = {
            name: suites.load_suite(write_suite(tmp_path, [present], name))
            for name in ("communes", "autre")
        }
        for run_id, names in (("run-tout", ["autre", "communes"]), ("run-communes", ["communes"])):
            validation = gate.validate(conn, [loaded[n] for n in names], run_id=run_id)
            validation.blocked = {}
            history.record(conn, validation)
        report = history.latest_report(conn)
    assert "exécution run-communes" in report.splitlines()[0]
    # the mart of the latest run as it is; the other with the date and run of its own
    assert re.search(r"^communes : (\d+)/\1 attentes respectées ; VALIDÉ$", report, re.M)
    assert re.search(
        r"^autre : (\d+)/\1 attentes respectées ; VALIDÉ \(validé le .*, exécution run-tout\)$",
        report,
        re.M,
    )
