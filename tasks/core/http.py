"""The one HTTP transport of the project: the national sources, data.gouv.fr and the
Recherche d'entreprises all send their requests through `Transport`.

Connection errors and HTTP 429, 500, 502, 503, 504 are retried with exponential
backoff. A `Retry-After` (seconds or HTTP date) is honoured, and it also holds back the
next requests of the same transport, not only the retried one. Every wait is bounded by
`max_wait` (`OPENDATA_HTTP_MAX_WAIT`): a server that asks for longer is not retried
early, the transport gives up at once and says so. When it gives up, `GaveUp` names the
host, the last problem and the number of attempts, in French; each client turns it into
its own error, with its own advice.

A request that is not idempotent (a POST that creates a dataset or uploads a new file)
is never retried blindly: only an HTTP 429 is, since the server refused it before doing
anything (RFC 6585), and a connection attempt that timed out before it was open. Any
other failure (a refused or cut connection included) goes back to the caller at once,
which looks at the remote state before sending again.

A small shared helper on requests rather than urllib3's `Retry`: `Retry` sleeps inside
the connection pool where nothing can be logged in French per attempt, it waits for any
`Retry-After` however long (or not at all), it cannot retry a body that breaks while
being streamed to disk, and it knows no rate limit shared across requests.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures worth another attempt: the server may answer next time.
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
log = logging.getLogger(__name__)
T = TypeVar("T")


def user_agent() -> str:
    try:
        release = version("opendata-mel")
    except PackageNotFoundError:
        release = "dev"
    return f"opendata-mel/{release} (ouverture des données des communes de la MEL; python-requests)"


@dataclass(frozen=True)
class RetryPolicy:
    """How patient a client is (OPENDATA_HTTP_* in the environment, see Settings)."""

    attempts: int = 5
    backoff: float = 2.0  # the first pause, doubled after each failed attempt
    max_wait: float = 120.0  # the longest pause, and the longest Retry-After accepted
    timeout: float = 60.0

    def pause(self, attempt: int, announced: float | None = None) -> float:
        """The pause after failed attempt number `attempt` (1, 2, …): what the server
        announced, else (none, zero or a date already past) the backoff."""
        wanted = announced if announced else self.backoff * 2 ** (attempt - 1)
        return min(wanted, self.max_wait)


class GaveUp(Exception):
    """The transport stopped retrying: `message` says why in French, naming the host."""

    def __init__(
        self,
        url: str,
        problem: str,
        attempts: int,
        *,
        announced: float | None = None,
        max_wait: float | None = None,
    ):
        self.url, self.problem, self.attempts = url, problem, attempts
        self.host = urlsplit(url).netloc or url
        self.announced = announced  # the last Retry-After, in seconds
        self.max_wait = max_wait
        super().__init__(self.message)

    @property
    def too_long(self) -> bool:
        """Stopped because the server asked for a pause longer than the maximum."""
        return None not in (self.announced, self.max_wait) and self.announced > self.max_wait

    @property
    def reason(self) -> str:
        """Why it stopped, without the host: « n'a pas répondu correctement après … »."""
        if self.too_long:
            return (
                f"demande d'attendre {math.ceil(self.announced)} s avant toute nouvelle requête "
                f"({self.problem}, en-tête Retry-After), plus que l'attente maximale de "
                f"{math.ceil(self.max_wait)} s (OPENDATA_HTTP_MAX_WAIT)"
            )
        tries = "1 tentative" if self.attempts == 1 else f"{self.attempts} tentatives"
        return f"n'a pas répondu correctement après {tries} ({self.problem})"

    @property
    def message(self) -> str:
        return f"{self.host} {self.reason}"


class Transport:
    """A requests session with the project's retry rules, and an optional rate limit."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        session: requests.Session | None = None,
        rate: float | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.policy = policy
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent()
        self.session.headers.update(headers or {})
        self.interval = 1 / rate if rate else 0.0
        self.sent = 0  # requests that actually left, for reports
        self._not_before = 0.0  # time.monotonic() before which no request may leave

    def request(
        self,
        method: str,
        url: str,
        *,
        idempotent: bool = True,
        read: Callable[[requests.Response], T] | None = None,
        **kwargs: Any,
    ) -> T | requests.Response:
        """The answer to the request, once it is no failure worth a retry.

        `read` consumes a successful answer (a streamed body, say) inside the retries,
        so that a transfer cut in the middle is tried again; its result is returned.
        A factory passed as `files` gives each attempt a fresh multipart body."""
        attempts = max(1, self.policy.attempts)
        problem = ""
        for attempt in range(1, attempts + 1):
            announced = None
            try:
                response = self._send(method, url, kwargs)
                if response.status_code not in RETRY_STATUSES:
                    if read is None or response.status_code >= 300:
                        return response
                    with response:
                        return read(response)
                problem, announced = f"HTTP {response.status_code}", retry_after(response)
                response.close()
                retriable = idempotent or response.status_code == 429
            except TRANSIENT_ERRORS as error:
                problem = describe_error(error)
                retriable = idempotent or isinstance(error, requests.exceptions.ConnectTimeout)
            too_long = announced is not None and announced > self.policy.max_wait
            if too_long or not retriable or attempt == attempts:
                raise GaveUp(
                    url, problem, attempt, announced=announced, max_wait=self.policy.max_wait
                )
            self._pause(method, url, problem, attempt, attempts, announced)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        self._throttle()
        files = kwargs.get("files")
        options = {**kwargs, "files": files() if callable(files) else files}
        options.setdefault("timeout", self.policy.timeout)
        return self.session.request(method, url, **options)

    def _pause(
        self,
        method: str,
        url: str,
        problem: str,
        attempt: int,
        attempts: int,
        announced: float | None,
    ) -> None:
        wait = self.policy.pause(attempt, announced)
        log.warning(
            "%s %s : %s (tentative %d/%d), nouvel essai dans %.1f s",
            method,
            url.split("?")[0],
            problem,
            attempt,
            attempts,
            wait,
        )
        # A server that asked for a pause gets it from every request of this transport.
        self._not_before = max(self._not_before, time.monotonic() + wait)

    def _throttle(self) -> None:
        """Wait for the next free slot: `rate` per second, later after a pause."""
        now = time.monotonic()
        start = max(now, self._not_before)
        if start > now:
            time.sleep(start - now)
        self._not_before = start + self.interval
        self.sent += 1


def retry_after(response: requests.Response) -> float | None:
    """The pause a server asks for, in seconds (`Retry-After`: seconds or an HTTP date)."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
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
