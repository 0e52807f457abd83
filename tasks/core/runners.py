"""Where a flow's task maps run: Prefect's default runner (threads of the flow's own
process), or a Dask cluster through prefect-dask when the operator gives one.

    OPENDATA_DASK=tcp://ordonnanceur:8786   an existing cluster (several machines)
    OPENDATA_DASK=local                     a temporary cluster of this machine's cores
    (unset)                                 Prefect's default runner

Tasks sent to Dask run in the cluster's worker processes: their arguments are plain
values (paths, codes), each task opens what it needs (the warehouse, read only), and the
workers must see the same files (the warehouse, the output folder) and the Prefect API
(PREFECT_API_URL) as the flow.
"""

from __future__ import annotations

import os
import re

from prefect.futures import as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from tasks.core.errors import ConfigurationError

LOCAL = "local"
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc|ucx)://\S+$")


def task_runner(dask: str | None, threads: int | None = None) -> TaskRunner:
    """The task runner of a map: Dask at `dask` (an address, or « local »), else
    Prefect's default thread pool (`threads` threads)."""
    if not dask:
        return ThreadPoolTaskRunner(max_workers=threads)
    from prefect_dask import DaskTaskRunner  # only when asked: it imports dask.distributed

    if dask == LOCAL:
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": os.cpu_count() or 1,
                "threads_per_worker": 1,  # the SVG renderer is one thread per process
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": None,
            }
        )
    if not _ADDRESS.match(dask):
        raise ConfigurationError(
            f"adresse de cluster Dask invalide : « {dask} »",
            where="OPENDATA_DASK (ou le paramètre dask)",
            action="donnez l'adresse de l'ordonnanceur Dask, par exemple "
            "tcp://10.0.0.5:8786, ou « local » pour un cluster des cœurs de cette machine ; "
            "laissez vide pour l'exécution par défaut",
        )
    return DaskTaskRunner(address=dask)


def run_map(runner: TaskRunner, task, parameters: dict, on_done=None) -> list:
    """The results of `task` mapped over `parameters` (as Task.map) on `runner`, in the
    order of the parameters; the first failed task's error is raised. `on_done(i)` is
    called in this process as the i-th task completes (whatever the order), e.g. to
    advance a progress bar."""
    with runner:
        _connect(runner)
        futures = runner.map(task, parameters)
        if on_done is not None:
            position = dict(zip(futures, range(len(futures)), strict=True))
            for future in as_completed(futures):
                if future.state.is_completed():
                    on_done(position[future])
        return [future.result() for future in futures]


def _connect(runner: TaskRunner) -> None:
    if not hasattr(type(runner), "client"):  # on the class: the property connects
        return
    address = getattr(runner, "address", None)
    try:
        runner.client  # noqa: B018 - connects to (or starts) the cluster now
    except (OSError, TimeoutError) as error:
        raise ConfigurationError(
            f"cluster Dask injoignable : {error}",
            where=address or "cluster Dask local",
            action="vérifiez que l'ordonnanceur Dask tourne et que cette machine peut le "
            "joindre (pare-feu, port 8786), ou videz OPENDATA_DASK pour l'exécution par défaut",
        ) from error
