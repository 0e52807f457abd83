"""Where the task maps run, and how the site's communes are cut into batches: pure
logic, no cluster started."""

from __future__ import annotations

import pytest
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.citizen_site.data import Commune
from tasks.citizen_site.steps import batches
from tasks.core.errors import ConfigurationError
from tasks.core.runners import task_runner


def test_without_an_address_the_maps_run_on_prefect_default_runner():
    assert isinstance(task_runner(None), ThreadPoolTaskRunner)
    assert isinstance(task_runner(""), ThreadPoolTaskRunner)


def test_an_address_or_local_gives_a_dask_runner():
    from prefect_dask import DaskTaskRunner

    remote = task_runner("tcp://10.0.0.5:8786")
    assert isinstance(remote, DaskTaskRunner) and remote.address == "tcp://10.0.0.5:8786"
    local = task_runner("local")
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["host"] == "127.0.0.1"  # loopback only
    assert local.cluster_kwargs["threads_per_worker"] == 1


def test_a_malformed_address_is_refused_in_french():
    with pytest.raises(ConfigurationError) as refused:
        task_runner("10.0.0.5")
    assert "adresse de cluster Dask invalide" in str(refused.value)
    assert "tcp://" in str(refused.value)


def test_batches_keep_the_order_and_every_commune_once():
    communes = [Commune(f"59{n:03d}", f"Commune {n}", 2026) for n in range(23)]
    cut = batches(communes, 10)
    assert [len(batch) for batch in cut] == [10, 10, 3]
    assert [c for batch in cut for c in batch] == communes
    assert batches(communes, 0) == [[c] for c in communes]  # at least one per batch
    assert batches([], 10) == []


def test_batches_that_read_two_states_of_the_warehouse_are_refused_in_french(tmp_path):
    from flows.citizen_site import _check_same_state
    from tasks.citizen_site.steps import SiteBatch
    from tasks.core.errors import InvalidData

    same = [SiteBatch("a1", []), SiteBatch("a1", [])]
    _check_same_state("a1", same, tmp_path / "opendata.duckdb")  # nothing to say
    with pytest.raises(InvalidData) as refused:
        _check_same_state("a1", [*same, SiteBatch("b2", [])], tmp_path / "opendata.duckdb")
    assert "L'entrepôt a changé pendant la construction du site" in str(refused.value)
    assert "relancez la construction du site" in str(refused.value)
