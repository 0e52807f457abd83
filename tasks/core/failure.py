"""What every flow does when it fails: say why, in French, in a Prefect artifact."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.artifacts import create_markdown_artifact

from tasks.core.errors import OpenDataError


@contextmanager
def reported_failure(key: str) -> Iterator[None]:
    """A failed run says why in a Prefect artifact too, in French, beside its state."""
    try:
        yield
    except Exception as error:
        if isinstance(error, OpenDataError):
            message, what = error.message, error.what
        else:  # an unforeseen failure: say at least what it is
            what = f"erreur inattendue {error.__class__.__name__} : {error}"
            message = f"{what}\n  Que faire : voir les journaux de l'exécution ; signalez-la."
        create_markdown_artifact(
            key=key, markdown=f"# Échec\n\n```\n{message}\n```\n", description=what[:200]
        )
        raise
