"""The Prefect tasks of the quality stage through `.fn()` (tasks/quality/steps.py): the
real suites on the warehouse of the sample files, intact then damaged."""

from __future__ import annotations

import duckdb
import pytest

from tasks.core.errors import QualityGateFailed
from tasks.publication.catalog import load_catalog
from tasks.quality import steps
from tasks.transform import models
from tests.unit.conftest import copy_warehouse, scalar

SAILLY = "59522"


def published(warehouse) -> dict[str, list[str]]:
    """The marts the catalogue publishes from this warehouse, as a refresh computes them."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return load_catalog().published_keys(models.loaded_sources(conn))


@pytest.fixture(scope="module")
def intact(built_warehouse_template):
    return steps.check_quality.fn(built_warehouse_template, published(built_warehouse_template))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, built_warehouse_template):
    """The same warehouse once Sailly-lez-Lannoy has gone missing from the référentiel."""
    path = copy_warehouse(built_warehouse_template, tmp_path_factory.mktemp("abime") / "w.duckdb")
    with duckdb.connect(str(path)) as conn:
        conn.execute(f"delete from marts.communes where code_commune = '{SAILLY}'")
    return steps.check_quality.fn(path, published(path))


def test_the_sample_warehouse_passes_every_critical_check(intact, built_warehouse_template):
    assert intact.blocked == {}
    failed = [o.describe() for o in intact.outcomes if o.severity == "critical" and not o.success]
    assert failed == []
    with duckdb.connect(str(built_warehouse_template), read_only=True) as conn:
        waiting = models.awaiting_data(conn, models.discover())
    validated = set(intact.marts)
    assert validated == {m.name for m in models.discover() if m.layer == "marts"} - set(waiting)


def test_a_missing_commune_blocks_its_mart_and_every_mart_built_from_it(damaged):
    every = models.discover()
    dependents = {
        m.name
        for m in every
        if m.layer == "marts" and "communes" in models.upstream_marts(m, every)
    }
    # marts waiting for data included: they would be blocked once their data come
    assert set(damaged.blocked) == {"communes"} | dependents
    assert damaged.blocked["communes"].endswith("attente(s) critique(s) en échec")
    for mart in dependents:
        assert damaged.blocked[mart] == "construit à partir du mart bloqué communes"


def test_the_failed_checks_say_what_was_expected_and_what_was_found(damaged):
    failed = {o.rule: o for o in damaged.outcomes if o.mart == "communes" and not o.success}
    count = failed["la somme de is_mel est comprise entre 95 et 95"]
    assert count.observed == 94 and count.severity == "critical"
    [missing] = [o for o in failed.values() if o.expectation.endswith("_to_contain_set")]
    assert missing.column == "code_commune" and SAILLY in missing.rule


def test_the_gate_stops_the_run_naming_each_blocked_mart(damaged, intact):
    steps.enforce_quality.fn(intact)  # nothing blocked: the run goes on
    with pytest.raises(QualityGateFailed) as error:
        steps.enforce_quality.fn(damaged)
    message = error.value.message
    assert message.startswith(
        f"Contrôle qualité bloquant en échec : {len(damaged.blocked)} mart(s) bloqué(s)"
    )
    for mart, why in damaged.blocked.items():
        assert f"    - {mart} : {why}" in message
    assert "rejets" in message


def test_the_results_and_decisions_are_recorded_in_the_candidate(damaged, warehouse):
    steps.record_quality.fn(warehouse, damaged)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert scalar(conn, "select count(*) from meta.validations") == len(damaged.outcomes)
        decisions = dict(
            conn.execute("select mart, decision from meta.decisions_qualite").fetchall()
        )
        failures = scalar(conn, "select count(*) from meta.validations where not succes")
    assert decisions == {m: "bloqué" if m in damaged.blocked else "validé" for m in damaged.marts}
    assert failures == sum(not o.success for o in damaged.outcomes)
