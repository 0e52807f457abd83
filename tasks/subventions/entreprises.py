"""The client of the API Recherche d'entreprises (its base URL comes from
catalog/subventions.yaml, `recherche_entreprises.url`).

Polite by construction: our user agent, at most `rate` requests per second across
calls, HTTP 429 `Retry-After` honoured (a wait longer than `max_wait` stops the run
rather than being cut short), 5xx and connection errors retried with backoff. Read
through the mirror convention (tasks/sources/mirror.py) like every source, and sent through
the project's HTTP transport (tasks/core/http.py).

A search the API refuses (a 4xx other than 401/403/404/429, e.g. HTTP 400 for a `q`
it finds too short) raises SearchRefused: that one beneficiary stays unidentified and
the run goes on. 401/403 stop the run: the API is public, so they mean a proxy in the
way or a changed API.

An API that cannot be reached raises ApiUnreachable: the transport gave up (connection
refused, DNS failure, timeout, HTTP 429/5xx still there after the retries, a
`Retry-After` longer than `max_wait`) or the API answered another 5xx. From then on the
client sends nothing more (each request would wait through the same retries): what is
in the cache is still read, anything else raises ApiUnreachable at once, and the build
marks those beneficiaries « non recherché ».

The length of `q`: the API (search-api, `check_if_short_terms_and_no_other_param`)
refuses fewer than 3 characters only when no other filter is given; open-api.yml
states no minimum. Our searches always carry `code_commune` and `est_association`, so
only an empty `q` is held back here (no request), and a short `q` without filter.

Cache: each answer is kept as one JSON file under `cache_dir`, named by the SHA-256 of
the request URL and holding that URL (`url`), the reception time (`recu_le`) and the
answer (`reponse`); a second run makes no request. Entries never expire: to ask the
API again, delete the folder (or one file, whose `url` tells which request it answers).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests

from tasks.core.errors import InvalidFormat, SourceUnavailable
from tasks.core.http import GaveUp, RetryPolicy, Transport
from tasks.sources.mirror import locate
from tasks.subventions.beneficiaries import normalise

PER_PAGE = 25  # the API's maximum: a commune rarely has more homonyms than that
MIN_TERMS = 3  # the API's minimum length of `q` when no filter comes with it
FATAL_4XX = (401, 403, 404, 429)  # 404: an unrecorded answer in a mirror; 429: retried
_INCLUDE = "complements,siege"
_CONFIG_HINT = "vérifiez `recherche_entreprises.url` dans catalog/subventions.yaml"
_LATER = "réessayez plus tard (les réponses déjà reçues sont gardées en cache)"
log = logging.getLogger(__name__)


def search_url(base_url: str, q: str, code_commune: str, associations_only: bool = True) -> str:
    params = {
        "q": q,
        "code_commune": code_commune,
        "minimal": "true",
        "include": _INCLUDE,
        "page": "1",
        "per_page": str(PER_PAGE),
    }
    if associations_only:
        params["est_association"] = "true"
    return _url(base_url, params)


def siren_url(base_url: str, siren: str) -> str:
    """A direct lookup: with 9 digits in `q`, the API ignores every other filter."""
    return _url(base_url, {"q": siren})


def _url(base_url: str, params: dict[str, str]) -> str:
    # Sorted, so that a request always has the same address (cache key, mirror file).
    return f"{base_url}?{urlencode(sorted(params.items()), quote_via=quote)}"


class SearchRefused(Exception):
    """A search the API will not answer; `reason` is French, for the identifiers file."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ApiUnreachable(SourceUnavailable):
    """The API did not answer (see the module's docstring); `summary` says why in French,
    without the request's address: « recherche-entreprises.api.gouv.fr n'a pas … »."""

    def __init__(self, what: str, *, where: str, action: str, host: str, summary: str):
        super().__init__(what, where=where, action=action)
        self.host = host
        self.summary = summary

    def again(self) -> ApiUnreachable:
        """The same error for a later request, which is not sent."""
        return ApiUnreachable(
            self.what, where=self.where, action=self.action, host=self.host, summary=self.summary
        )


class _Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def query_problem(q: str, code_commune: str, associations_only: bool = True) -> str | None:
    """Why the API would refuse `q` (French), or None: then the search is sent."""
    if not q.strip():
        return "nom vide"
    if len(q) < MIN_TERMS and not (code_commune.strip() or associations_only):
        return f"moins de {MIN_TERMS} caractères sans filtre : l'API refuse une telle recherche"
    return None


@dataclass(frozen=True)
class Candidate:
    """One legal unit the API answered with."""

    siren: str
    siret: str | None  # of its head office (siège)
    rna: str | None
    nom: str  # nom_complet
    sigle: str | None
    code_commune: str | None  # of its head office
    est_association: bool
    raison_sociale: str | None = None  # nom_raison_sociale

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> Candidate:
        siege = result.get("siege") or {}
        complements = result.get("complements") or {}
        return cls(
            siren=str(result.get("siren") or ""),
            siret=siege.get("siret") or None,
            rna=complements.get("identifiant_association") or None,
            nom=result.get("nom_complet") or result.get("nom_raison_sociale") or "",
            sigle=result.get("sigle") or None,
            code_commune=siege.get("commune") or None,
            est_association=bool(complements.get("est_association")),
            raison_sociale=result.get("nom_raison_sociale") or None,
        )

    def normalised_names(self) -> set[str]:
        names = (self.nom, self.raison_sociale, self.sigle)
        return {normalise(name) for name in names if name and name.strip()}

    def label(self) -> str:
        """For a person: « SIRET – NOM – RNA W… – commune 59522 »."""
        parts = [self.siret or "SIRET inconnu", self.nom]
        if self.rna:
            parts.append(f"RNA {self.rna}")
        if self.code_commune:
            parts.append(f"commune {self.code_commune}")
        return " – ".join(parts)


class EntreprisesClient:
    def __init__(
        self,
        base_url: str,
        mirror: str | None,
        cache_dir: Path,
        *,
        rate: float = 7.0,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url
        self.mirror = mirror
        self.cache_dir = Path(cache_dir)
        self.unreachable: ApiUnreachable | None = None  # the first failure, once down
        self.transport = Transport(
            policy or RetryPolicy(timeout=30, backoff=1.0),
            session=session,
            rate=rate if rate > 0 else None,
            headers={"Accept": "application/json"},
        )

    @property
    def requests_sent(self) -> int:
        """HTTP requests actually sent, for the report."""
        return self.transport.sent

    def search(self, q: str, code_commune: str, associations_only: bool = True) -> list[Candidate]:
        """The associations answered for `q`; SearchRefused when the API will not answer."""
        problem = query_problem(q, code_commune, associations_only)
        if problem:
            shown = f" « {q.strip()} »" if q.strip() else ""
            raise SearchRefused(
                f"recherche{shown} non envoyée à l'API ({problem}) : saisissez le SIRET"
            )
        url = search_url(self.base_url, q, code_commune, associations_only)
        try:
            payload = self.get(url, refusable=True)
        except _Refused as refused:
            detail = f" : « {refused.detail} »" if refused.detail else ""
            hint = " : nom trop court ?" if refused.status == 400 else " :"
            log.warning("%s : HTTP %d%s, bénéficiaire non identifié", url, refused.status, detail)
            raise SearchRefused(
                f"recherche « {q} » refusée par l'API (HTTP {refused.status}{detail}){hint} "
                "saisissez le SIRET"
            ) from None
        return [Candidate.from_result(result) for result in payload["results"]]

    def siege_siret(self, siren: str) -> str | None:
        """The SIRET of the head office of `siren` (the commune's own, for instance)."""
        if not re.fullmatch(r"\d{9}", siren):
            raise ValueError(f"un SIREN compte 9 chiffres : « {siren} »")
        for result in self.get(siren_url(self.base_url, siren))["results"]:
            if result.get("siren") == siren:
                return (result.get("siege") or {}).get("siret") or None
        return None

    def get(self, url: str, *, refusable: bool = False) -> dict[str, Any]:
        """The JSON answer to `url`: from the cache, else from the mirror or the API.

        With `refusable`, a 4xx outside FATAL_4XX raises _Refused instead of stopping."""
        cached = self._cached(url)
        if cached is not None:
            return cached
        address = locate(url, self.mirror)
        if isinstance(address, Path):
            body = self._read_local(url, address)
        elif self.unreachable is not None:
            raise self.unreachable.again()
        else:
            try:
                body = self._fetch(url, address, refusable)
            except ApiUnreachable as error:
                self.unreachable = error
                raise
        payload = _parse(url, str(address), body)
        self._store(url, payload)
        return payload

    def _fetch(self, url: str, address: str, refusable: bool = False) -> bytes:
        try:
            response = self.transport.request("GET", address)
        except GaveUp as gave_up:
            raise _gave_up(url, address, gave_up) from None
        status = response.status_code
        if response.ok:
            return response.content
        if status in (401, 403):
            raise _access_denied(url, address, status)
        if refusable and 400 <= status < 500 and status not in FATAL_4XX:
            raise _Refused(status, _api_error(response.content))
        if status >= 500:  # not retried by the transport (501, 505…): down all the same
            raise _server_error(url, address, status)
        raise _http_error(url, address, status)

    def _read_local(self, url: str, path: Path) -> bytes:
        if not path.is_file():
            raise SourceUnavailable(
                f"le miroir ne contient pas de réponse enregistrée pour {url}",
                where=str(path),
                action="ajoutez la réponse au miroir (voir "
                "tests/fixtures/recherche-entreprises/README.md) ou retirez OPENDATA_MIRROR "
                "pour interroger l'API",
            )
        return path.read_bytes()

    def _cache_path(self, url: str) -> Path:
        return self.cache_dir / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()}.json"

    def _cached(self, url: str) -> dict[str, Any] | None:
        path = self._cache_path(url)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # absent or damaged: asked again
        if not isinstance(entry, dict) or entry.get("url") != url:
            return None
        return entry.get("reponse")

    def _store(self, url: str, payload: dict[str, Any]) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        path = self._cache_path(url)
        entry = {
            "url": url,
            "recu_le": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "reponse": payload,
        }
        partial = path.with_suffix(".partiel")
        partial.write_text(json.dumps(entry, ensure_ascii=False, indent=1), encoding="utf-8")
        partial.replace(path)


def _parse(url: str, where: str, body: bytes) -> dict[str, Any]:
    action = (
        "l'API est peut-être en maintenance, ou l'adresse ne désigne pas l'API : réessayez "
        f"plus tard, et {_CONFIG_HINT}. Rien n'a été mis en cache."
    )
    try:
        payload = json.loads(body)
    except ValueError:
        start = " ".join(body[:80].decode("utf-8", errors="replace").split())
        raise InvalidFormat(
            f"la réponse de l'API Recherche d'entreprises à {url} n'est pas du JSON "
            f"(elle commence par « {start} »)",
            where=where,
            action=action,
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise InvalidFormat(
            f"la réponse de l'API Recherche d'entreprises à {url} n'a pas de liste « results »",
            where=where,
            action=action,
        )
    return payload


def _api_error(body: bytes) -> str:
    """The API's own explanation (`{"erreur": "…"}`), shortened, without our separator."""
    try:
        text = json.loads(body).get("erreur") or ""
    except (ValueError, AttributeError):
        text = ""
    text = " ".join(str(text).replace("|", "/").split())
    return text if len(text) <= 160 else text[:159] + "…"


def _access_denied(url: str, address: str, status: int) -> SourceUnavailable:
    return SourceUnavailable(
        f"l'API Recherche d'entreprises a refusé l'accès (HTTP {status}) à {url} ; cette "
        "API est publique et sans authentification : un proxy ou un pare-feu filtre "
        "probablement l'accès, ou l'API a changé",
        where=address,
        action="ouvrez l'adresse dans un navigateur depuis ce poste, vérifiez le proxy "
        "(variables HTTPS_PROXY / HTTP_PROXY) avec le service informatique ; si l'API a "
        "changé, consultez sa documentation (https://recherche-entreprises.api.gouv.fr/docs/) "
        f"et {_CONFIG_HINT}. Le fichier des identifiants n'a pas été modifié.",
    )


def _gave_up(url: str, address: str, gave_up: GaveUp) -> ApiUnreachable:
    what = f"l'API Recherche d'entreprises ({gave_up.host}) {gave_up.reason}, en réponse à {url}"
    if gave_up.too_long:
        action = (
            "relancez plus tard ; les réponses déjà reçues sont en cache et ne seront pas "
            "redemandées."
        )
    else:
        action = f"{_LATER} ; si l'erreur persiste, {_CONFIG_HINT}."
    return ApiUnreachable(
        what, where=address, action=action, host=gave_up.host, summary=gave_up.message
    )


def _server_error(url: str, address: str, status: int) -> ApiUnreachable:
    host = urlsplit(address).netloc or address
    return ApiUnreachable(
        f"l'API Recherche d'entreprises a répondu HTTP {status} à {url}",
        where=address,
        action=f"{_LATER} ; si l'erreur persiste, {_CONFIG_HINT}.",
        host=host,
        summary=f"{host} a répondu HTTP {status}",
    )


def _http_error(url: str, address: str, status: int) -> SourceUnavailable:
    return SourceUnavailable(
        f"l'API Recherche d'entreprises a répondu HTTP {status} à {url}",
        where=address,
        action=f"{_CONFIG_HINT} ; avec un miroir (OPENDATA_MIRROR), ajoutez la réponse "
        "enregistrée (voir tests/fixtures/recherche-entreprises/README.md)",
    )
