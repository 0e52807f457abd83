"""The one client that reads the national sources (requests, or a local mirror)."""

from __future__ import annotations

import email.utils
import logging
import shutil
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import requests

from tasks.core.errors import SourceUnavailable
from tasks.core.settings import Settings
from tasks.sources.mirror import locate

RETRY_STATUSES = {429, 500, 502, 503, 504}
# Failures worth another attempt: the server may answer next time.
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
_CHUNK = 1 << 16
log = logging.getLogger(__name__)


def user_agent() -> str:
    try:
        release = version("opendata-mel")
    except PackageNotFoundError:
        release = "dev"
    return f"opendata-mel/{release} (ouverture des données des communes de la MEL; python-requests)"


@dataclass(frozen=True)
class Validators:
    """What the previous download returned, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Download:
    url: str
    address: str
    not_modified: bool
    validators: Validators
    content_type: str | None = None


class SourceClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None):
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent()

    def download(self, url: str, destination: Path, previous: Validators | None = None) -> Download:
        """Write the body of `url` to `destination`, or report it unchanged (HTTP 304)."""
        address = locate(url, self.settings.mirror)
        if isinstance(address, Path):
            return self._copy_local(url, address, destination)
        return self._get(url, address, destination, previous or Validators())

    def _copy_local(self, url: str, path: Path, destination: Path) -> Download:
        if not path.is_file():
            raise SourceUnavailable(
                f"le fichier miroir de {url} est absent",
                where=str(path),
                action="ajoutez le fichier au miroir (voir samples/README.md) ou retirez "
                "OPENDATA_MIRROR pour lire la source nationale",
            )
        shutil.copyfile(path, destination)
        return Download(url, str(path), False, Validators())

    def _get(self, url: str, address: str, destination: Path, previous: Validators) -> Download:
        attempts = max(1, self.settings.http_attempts)
        problem = ""
        for attempt in range(1, attempts + 1):
            wait = self.settings.http_backoff * 2 ** (attempt - 1)
            try:
                with self.session.get(
                    address,
                    headers=previous.headers(),
                    timeout=self.settings.http_timeout,
                    stream=True,
                ) as response:
                    if response.status_code == 304:
                        return Download(url, address, True, previous)
                    if response.status_code in RETRY_STATUSES:
                        problem = f"HTTP {response.status_code}"
                        wait = retry_after(response) or wait
                    elif response.status_code >= 400:
                        raise _http_error(url, address, response.status_code)
                    else:
                        _stream(response, destination)
                        return Download(
                            url,
                            address,
                            False,
                            Validators(
                                response.headers.get("ETag"), response.headers.get("Last-Modified")
                            ),
                            response.headers.get("Content-Type"),
                        )
            except TRANSIENT_ERRORS as error:
                problem = describe_error(error)
            if attempt < attempts:
                wait = min(wait, self.settings.http_max_wait)
                log.warning(
                    "%s : %s (tentative %d/%d), nouvel essai dans %.1f s",
                    url,
                    problem,
                    attempt,
                    attempts,
                    wait,
                )
                time.sleep(wait)
        raise SourceUnavailable(
            f"{url} n'a pas répondu correctement après {attempts} tentatives ({problem})",
            where=address,
            action="réessayez plus tard ; si l'erreur persiste, vérifiez l'adresse dans "
            "warehouse/sources.yaml. La base et les fichiers publiés n'ont pas été modifiés.",
        )


def _stream(response: requests.Response, destination: Path) -> None:
    with destination.open("wb") as out:
        for chunk in response.iter_content(_CHUNK):
            out.write(chunk)


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def describe_error(error: Exception) -> str:
    if isinstance(error, requests.Timeout):
        return "délai d'attente dépassé"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "transfert interrompu"
    return "connexion impossible"


def _http_error(url: str, address: str, status: int) -> SourceUnavailable:
    hints = {
        401: "la source demande une authentification : vérifiez la clé ou l'adresse",
        403: "accès refusé par le serveur : vérifiez l'adresse ou les droits",
        404: "le fichier n'existe pas (ou plus) à cette adresse : le producteur l'a "
        "peut-être déplacé ; corrigez l'URL dans warehouse/sources.yaml",
    }
    return SourceUnavailable(
        f"{url} a répondu HTTP {status}",
        where=address,
        action=hints.get(status, "vérifiez l'adresse dans warehouse/sources.yaml"),
    )
