"""A small adapter for the data.gouv.fr API (udata), on the project's HTTP transport.

Reads and PUTs are retried as every request of the project is (tasks/core/http.py:
connection errors, 429, 5xx, `Retry-After`). POSTs that create something (a dataset, a
new file) are retried by the transport only after an HTTP 429; after any other failure
the publisher reads the remote state again and finds what the POST may have created,
so that a retried step never leaves a duplicate. The API key travels in a header only:
it is never logged nor put in a message, and what the platform answers is redacted
before it is quoted (an error page may repeat the request's headers).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import requests

from tasks.core.errors import OpenDataError
from tasks.core.http import GaveUp, RetryPolicy, Transport
from tasks.publication.secrets import redact


class PublicationError(OpenDataError):
    title = "Publication sur data.gouv.fr refusée"


class TransientPublicationError(PublicationError):
    title = "data.gouv.fr momentanément indisponible"
    wait: float | None = None  # the pause the platform asked for (Retry-After), if any


# A file upload may take longer than a read: never less patient than that, per request.
UPLOAD_TIMEOUT = 120.0


class DataGouvClient:
    def __init__(
        self,
        api: str,
        api_key: str | None,
        *,
        policy: RetryPolicy | None = None,
        rate: float | None = None,
    ):
        self.api = api.rstrip("/")
        policy = policy or RetryPolicy()
        self.policy = dataclasses.replace(policy, timeout=max(policy.timeout, UPLOAD_TIMEOUT))
        self._key = api_key  # to mask it in what the platform answers, never to show
        headers = {"X-API-KEY": api_key} if api_key else {}
        self.transport = Transport(self.policy, headers=headers, rate=rate)
        # Published files may be served by another host: never send them the key.
        self.files = Transport(self.policy)

    # Datasets -------------------------------------------------------------------------
    def dataset(self, dataset_id: str) -> dict | None:
        """The dataset, or None when it does not exist (any more)."""
        try:
            return self._call("GET", f"/datasets/{dataset_id}/", retry=True)
        except PublicationError as error:
            if getattr(error, "status", None) in {404, 410}:
                return None
            raise

    def organization_datasets(self, organization: str) -> list[dict]:
        found, page = [], 1
        while True:
            answer = self._call(
                "GET",
                f"/organizations/{organization}/datasets/?page={page}&page_size=100",
                retry=True,
            )
            found += answer.get("data", [])
            if not answer.get("next_page"):
                return found
            page += 1

    def create_dataset(self, payload: dict) -> dict:
        return self._call("POST", "/datasets/", json=payload, retry=False)

    def update_dataset(self, dataset_id: str, payload: dict) -> dict:
        return self._call("PUT", f"/datasets/{dataset_id}/", json=payload, retry=True)

    # Resources ------------------------------------------------------------------------
    def upload_new(self, dataset_id: str, filename: str, content: bytes) -> dict:
        return self._call(
            "POST", f"/datasets/{dataset_id}/upload/", files=_file(filename, content), retry=False
        )

    def replace_file(
        self, dataset_id: str, resource_id: str, filename: str, content: bytes
    ) -> dict:
        # Same resource, same bytes: sending it twice leaves the same state.
        return self._call(
            "POST",
            f"/datasets/{dataset_id}/resources/{resource_id}/upload/",
            files=_file(filename, content),
            retry=True,
        )

    def update_resource(self, dataset_id: str, resource_id: str, payload: dict) -> dict:
        return self._call(
            "PUT", f"/datasets/{dataset_id}/resources/{resource_id}/", json=payload, retry=True
        )

    def download(self, url: str) -> bytes:
        """A published file, as stored by the platform."""
        try:
            response = self.files.request("GET", url)
        except GaveUp as gave_up:
            error = TransientPublicationError(
                f"téléchargement de {url} : {gave_up.message}",
                where=url,
                action="relancez la publication plus tard : rien n'a été remplacé",
            )
            error.wait = gave_up.announced
            raise error from None
        if response.status_code >= 400:
            raise _refused("GET", url, response, self._key)
        return response.content

    # Transport ------------------------------------------------------------------------
    def _call(self, method: str, path: str, *, retry: bool, **kwargs: Any) -> dict:
        url = self.api + path
        try:
            response = self.transport.request(method, url, idempotent=retry, **kwargs)
        except GaveUp as gave_up:
            error = TransientPublicationError(
                f"{method} {path} : {gave_up.message}",
                where=self.api,
                action="relancez la publication plus tard : elle reprend là où elle s'est "
                "arrêtée, sans créer de doublon",
            )
            error.wait = gave_up.announced
            raise error from None
        except requests.RequestException as error:
            # Only the class name: some messages of requests quote header values.
            raise PublicationError(
                f"requête impossible ({error.__class__.__name__})",
                where=self.api.split("/api/1", 1)[0],
                action="vérifiez l'adresse de l'API dans catalog/publication.yaml et la clé",
            ) from None
        if response.status_code >= 400:
            raise _refused(method, url, response, self._key)
        return response.json() if response.content else {}


def _fields(errors: dict) -> str:
    """{'spatial': {'zones': ['Unknown geoid(s): x']}} -> 'spatial.zones : Unknown geoid(s): x'."""
    parts = []
    for name, value in errors.items():
        if isinstance(value, dict):
            parts += [f"{name}.{inner}" for inner in _fields(value).split(" ; ") if inner]
        else:
            messages = value if isinstance(value, list) else [value]
            parts.append(f"{name} : {', '.join(str(m) for m in messages)}")
    return " ; ".join(parts)


def _file(filename: str, content: bytes):
    # A factory: each attempt sends a fresh multipart body.
    return lambda: {"file": (filename, content)}


def _refused(
    method: str, url: str, response: requests.Response, key: str | None = None
) -> PublicationError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    # Masked before it is cut short: a gateway's error page may repeat the key's header.
    detail = redact(str(body.get("message") or _fields(errors) or response.text), key)[:300]
    hints = {
        401: (
            "clé d'API refusée (invalide ou expirée)",
            "vérifiez la clé de cet environnement (DATAGOUV_API_KEY_DEMO / _PROD ou le bloc "
            "Prefect Secret) : les clés de demo.data.gouv.fr ne valent pas en production",
        ),
        403: (
            "droits insuffisants sur cet objet",
            "le compte de la clé doit être membre (administrateur ou éditeur) de "
            "l'organisation qui publie ; vérifiez `organisations` dans catalog/publication.yaml",
        ),
        400: (
            f"métadonnées refusées : {detail}",
            "corrigez la fiche (catalog/fiches/) : zone spatiale, licence ou fréquence inconnue "
            "de data.gouv.fr, mot-clé trop court…",
        ),
        404: ("objet introuvable", "vérifiez l'identifiant dans la fiche ou l'organisation"),
        410: (
            "le jeu de données a été supprimé sur data.gouv.fr",
            "retirez son identifiant de la fiche pour en créer un nouveau",
        ),
    }
    if status == 400 and "organization" in errors:
        hints[400] = (
            f"organisation refusée : {detail}",
            "le compte de la clé doit être membre (administrateur ou éditeur) de "
            "l'organisation qui publie ; vérifiez `organisations` dans catalog/publication.yaml",
        )
    what, action = hints.get(status, (f"erreur HTTP {status} : {detail}", "voir le détail"))
    error = PublicationError(
        f"{what} (HTTP {status}, {method} {url.split('/api/1', 1)[-1]})",
        where=url.split("/api/1", 1)[0],
        action=action,
    )
    error.status = status
    return error
