"""Run-time settings, read from the environment when a run starts (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tasks.core.http import RetryPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    data_dir: Path
    mirror: str | None
    http_timeout: float
    http_attempts: int
    http_backoff: float
    http_max_wait: float
    duckdb_memory: str = "1GB"
    # Where the task maps run (tasks/core/runners.py): a Dask scheduler address, « local »
    # for a Dask cluster of this machine's cores, or None for Prefect's default runner.
    dask: str | None = None
    # How many previous warehouses are kept under generations/ (tasks/core/warehouse.py).
    generations: int = 3

    @property
    def http_policy(self) -> RetryPolicy:
        """The patience of every HTTP client (sources, data.gouv.fr, Recherche d'entreprises)."""
        return RetryPolicy(
            attempts=max(1, self.http_attempts),
            backoff=self.http_backoff,
            max_wait=self.http_max_wait,
            timeout=self.http_timeout,
        )

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def quality_docs_dir(self) -> Path:
        """The GX Data Docs of the latest validation (static HTML)."""
        return self.data_dir / "qualite" / "data-docs"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        return cls(
            warehouse=_path(env.get("OPENDATA_WAREHOUSE", "warehouse/opendata.duckdb")),
            data_dir=_path(env.get("OPENDATA_DATA_DIR", "data")),
            mirror=env.get("OPENDATA_MIRROR") or None,
            http_timeout=float(env.get("OPENDATA_HTTP_TIMEOUT", "60")),
            http_attempts=int(env.get("OPENDATA_HTTP_ATTEMPTS", "5")),
            http_backoff=float(env.get("OPENDATA_HTTP_BACKOFF", "2")),
            http_max_wait=float(env.get("OPENDATA_HTTP_MAX_WAIT", "120")),
            duckdb_memory=env.get("OPENDATA_DUCKDB_MEMORY", "1GB"),
            dask=env.get("OPENDATA_DASK") or None,
            generations=max(0, int(env.get("OPENDATA_GENERATIONS", "3"))),
        )


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path
