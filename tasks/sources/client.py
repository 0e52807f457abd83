"""The one client that reads the national sources (requests, or a local mirror)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import requests

from tasks.core.errors import SourceUnavailable
from tasks.core.http import GaveUp, Transport
from tasks.core.progress import BYTES, artifact_key, progress
from tasks.core.settings import Settings
from tasks.sources.mirror import locate

_CHUNK = 1 << 16


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
        self.transport = Transport(settings.http_policy, session=session)

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
        def save(response: requests.Response) -> Download:
            name = _shown_name(url)
            with (
                destination.open("wb") as out,
                progress(
                    f"Téléchargement de {name}",
                    _length(response),
                    unit=BYTES,
                    key=f"telechargement-{artifact_key(name)}",
                    after=1.0,  # a small file is no long work: no artifact
                ) as bar,
            ):
                for chunk in response.iter_content(_CHUNK):
                    out.write(chunk)
                    bar.advance(len(chunk))
            return Download(
                url,
                address,
                False,
                Validators(response.headers.get("ETag"), response.headers.get("Last-Modified")),
                response.headers.get("Content-Type"),
            )

        try:
            answer = self.transport.request(
                "GET", address, headers=previous.headers(), stream=True, read=save
            )
        except GaveUp as gave_up:
            raise SourceUnavailable(
                f"{url} {gave_up.reason}",
                where=address,
                action=(
                    "relancez après l'attente demandée par le serveur (ou augmentez "
                    "OPENDATA_HTTP_MAX_WAIT)"
                    if gave_up.too_long
                    else "réessayez plus tard ; si l'erreur persiste, vérifiez l'adresse dans "
                    "warehouse/sources.yaml"
                )
                + ". La base et les fichiers publiés n'ont pas été modifiés.",
            ) from None
        if isinstance(answer, Download):
            return answer
        with answer:
            if answer.status_code == 304:
                return Download(url, address, True, previous)
            raise _http_error(url, address, answer.status_code)


def _shown_name(url: str) -> str:
    """« base_cc_comparateur_csv.zip » for a file, « api.insee.fr/melodi/catalog/all »
    for an address that names none."""
    parts = urlsplit(url)
    name = PurePosixPath(parts.path).name
    return name if "." in name else f"{parts.netloc}{parts.path}".rstrip("/")


def _length(response: requests.Response) -> int | None:
    """The size of the body as written to disk, when the server gives it: not for a
    compressed transfer, which requests decompresses on the way."""
    length = response.headers.get("Content-Length", "")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    return int(length) if length.isdigit() and encoding == "identity" else None


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
