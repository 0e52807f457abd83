"""The data.gouv.fr API key: from the environment or a Prefect Secret block, never logged."""

from __future__ import annotations

import os

from tasks.catalog import Environment


def api_key(environment: Environment) -> str | None:
    for variable in (f"DATAGOUV_API_KEY_{environment.name.upper()}", "DATAGOUV_API_KEY"):
        if os.environ.get(variable):
            return os.environ[variable]
    from prefect.blocks.system import Secret

    try:
        return Secret.load(environment.secret_block).get() or None
    except ValueError:  # no such block
        return None
