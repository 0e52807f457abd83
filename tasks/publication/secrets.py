"""The data.gouv.fr API key: from the environment or a Prefect Secret block, never logged."""

from __future__ import annotations

import os
import re

from tasks.core.errors import ConfigurationError
from tasks.publication.catalog import Environment

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


def api_key(environment: Environment) -> str | None:
    """The key of this environment only: a production key is never sent to the sandbox."""
    variable = f"DATAGOUV_API_KEY_{environment.name.upper()}"
    key = os.environ.get(variable)
    where = f"variable {variable}"
    if not key:
        from prefect.blocks.system import Secret

        try:
            key = Secret.load(environment.secret_block).get()
        except ValueError:  # no such block
            return None
        where = f"bloc Prefect Secret « {environment.secret_block} »"
    key = (key or "").strip()
    if key and not _KEY.match(key):
        # Said without the value: the key must never appear in a message.
        raise ConfigurationError(
            "la clé d'API contient des caractères inattendus (espace, retour à la ligne…)",
            where=where,
            action="recopiez la clé depuis votre profil data.gouv.fr, sans espace",
        )
    return key or None
