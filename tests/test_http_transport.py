"""The one HTTP transport (tasks/core/http.py) against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import email.utils
import logging
import time

import pytest

from tasks.core.http import GaveUp, RetryPolicy, Transport
from tests.mirror_server import Scripted

PATH = "api/objets"


def transport(**options) -> Transport:
    return Transport(RetryPolicy(**{"attempts": 3, "backoff": 0.05, "timeout": 5, **options}))


def test_a_retry_after_given_as_an_http_date_is_honoured(mirror):
    soon = email.utils.formatdate(time.time() + 2, usegmt=True)
    mirror.script(PATH, Scripted(503, headers={"Retry-After": soon}))
    mirror.script(PATH, Scripted(200, b"ok"))
    answer = transport().request("GET", f"{mirror.url}/{PATH}")
    assert answer.status_code == 200 and answer.content == b"ok"
    first, second = mirror.seen(PATH)
    # An HTTP date has a one-second resolution: at least one second, not the 0.05 s backoff.
    assert second.at - first.at >= 1.0


def test_a_retry_after_beyond_the_maximum_wait_stops_at_once_naming_the_host(mirror):
    mirror.script(PATH, Scripted(429, headers={"Retry-After": "3600"}))
    with pytest.raises(GaveUp) as error:
        transport(max_wait=5).request("GET", f"{mirror.url}/{PATH}")
    host = mirror.url.removeprefix("http://")
    assert error.value.message.startswith(f"{host} demande d'attendre 3600 s")
    assert "attente maximale de 5 s (OPENDATA_HTTP_MAX_WAIT)" in error.value.message
    assert len(mirror.seen(PATH)) == 1


def test_backoff_pauses_are_bounded_by_the_maximum_wait(mirror, caplog):
    mirror.script(PATH, *[Scripted(500)] * 3)
    with caplog.at_level(logging.WARNING, "tasks.core.http"), pytest.raises(GaveUp) as error:
        transport(backoff=30, max_wait=0.2).request("GET", f"{mirror.url}/{PATH}")
    pauses = [r.getMessage().rsplit(" dans ", 1)[1] for r in caplog.records]
    assert pauses == ["0.2 s", "0.2 s"]  # 30 s then 60 s asked by the backoff, both bounded
    assert "n'a pas répondu correctement après 3 tentatives (HTTP 500)" in error.value.message


def test_a_post_is_not_retried_after_a_server_error(mirror):
    mirror.script(PATH, Scripted(502, b"passerelle"))
    with pytest.raises(GaveUp) as error:
        transport().request("POST", f"{mirror.url}/{PATH}", idempotent=False, data=b"x")
    assert len(mirror.seen(PATH)) == 1
    assert "après 1 tentative (HTTP 502)" in error.value.message


def test_a_post_refused_with_429_is_sent_again_after_retry_after(mirror):
    mirror.script(PATH, Scripted(429, headers={"Retry-After": "1"}))
    answer = transport().request("POST", f"{mirror.url}/{PATH}", idempotent=False, data=b"x")
    assert answer.status_code == 201
    first, second = mirror.seen(PATH)
    assert (first.method, second.method) == ("POST", "POST")
    assert second.at - first.at >= 1.0


def test_a_retry_after_holds_back_the_next_requests_too(mirror):
    mirror.script(PATH, Scripted(429, headers={"Retry-After": "1"}))
    client = transport()
    client.request("GET", f"{mirror.url}/{PATH}")
    client.request("GET", f"{mirror.url}/autre")
    first, retried = mirror.seen(PATH)
    [other] = mirror.seen("autre")
    assert other.at >= retried.at >= first.at + 1.0
    assert client.sent == 3


def test_a_client_error_is_handed_back_without_retry(mirror):
    answer = transport().request("GET", f"{mirror.url}/absent.json")
    assert answer.status_code == 404
    assert len(mirror.seen("absent.json")) == 1


def test_a_retry_after_of_zero_falls_back_to_the_backoff(mirror, caplog):
    mirror.script(PATH, Scripted(503, headers={"Retry-After": "0"}), Scripted(200, b"ok"))
    with caplog.at_level(logging.WARNING, "tasks.core.http"):
        transport(backoff=0.3).request("GET", f"{mirror.url}/{PATH}")
    assert [r.getMessage().rsplit(" dans ", 1)[1] for r in caplog.records] == ["0.3 s"]
