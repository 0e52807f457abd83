"""The data.gouv.fr API key: from the environment or a Prefect Secret block, never logged.

The secrets of a run (the API keys, the alert webhook's address) travel in a header or
stay in the environment. Any text that comes from outside (an error page of the platform
or of a gateway in front of it, which may repeat the request's headers) is passed
through `redact` before it goes into a message, a log or a file."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from tasks.core.errors import ConfigurationError
from tasks.publication.catalog import ENVIRONMENTS, Environment

_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
# The variables that hold a secret; the webhook's is read by the alerts (tasks/operations).
SECRET_VARIABLES = (
    *(f"DATAGOUV_API_KEY_{env.upper()}" for env in ENVIRONMENTS),
    "OPENDATA_WEBHOOK_URL",
)
MASK = "[secret masqué]"
# The key's header as an echoing error page shows it: `X-API-KEY: udata_…`, in JSON too.
_HEADER = re.compile(r"""(?i)(x-api-key["']?\s*[:=]\s*["']?)(?!\[secret)[^\s,;"'<>]+""")
_SHORTEST = 8  # a shorter value is no secret (and masking it would blank ordinary words)


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


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every secret masked: `secrets` (the key a client was given, perhaps from
    a Prefect block), the values of SECRET_VARIABLES, and the path of the webhook's address
    (requests names a URL by its path in its errors). Redact before cutting a text short: a
    cut secret would no longer be found whole."""
    values = [*secrets, *(os.environ.get(name) for name in SECRET_VARIABLES)]
    webhook = os.environ.get("OPENDATA_WEBHOOK_URL") or ""
    if webhook:
        parts = urlsplit(webhook)
        values.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    for value in sorted({v.strip() for v in values if v}, key=len, reverse=True):
        if len(value) >= _SHORTEST:
            text = text.replace(value, MASK)
    return _HEADER.sub(lambda match: match[1] + MASK, text)
