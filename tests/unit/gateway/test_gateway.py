"""Pure parts of the gateway: log redaction, route classes, the error envelope per path."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading

import pytest

from tickhub.app import create_app
from tickhub.gateway import RedactFilter, logging_config, redact
from tickhub.gateway._context import accept_request_id
from tickhub.gateway.paths import RouteClass, classify, is_auth_path
from tickhub.problems import Envelopes
from tickhub.settings import Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login password=hunter2 user=bob", "hunter2"),
        ('{"email": "a@b.c", "password": "hunter2"}', "hunter2"),
        ("{'password': 'hunter2', 'x': 1}", "hunter2"),
        ('{"access": "AAA111", "refresh": "RRR222"}', "AAA111"),
        ('{"access": "AAA111", "refresh": "RRR222"}', "RRR222"),
        ("Authorization: Bearer tok123", "tok123"),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("GET /x?token=abc123&page=2", "abc123"),
        ("X-API-Key: key-777", "key-777"),
        ("api_key=key-777", "key-777"),
        ("client_secret=s3cr3t;", "s3cr3t"),
        ("refresh_token: 'r-1'", "r-1"),
        ("Cookie: session=c00kie", "c00kie"),
        (f"verify link /api/user/verify/42/{JWT}", JWT),
        (f"bare {JWT} in text", JWT),
    ],
)
def test_redact_blanks_secrets(text: str, secret: str) -> None:
    clean = redact(text)
    assert secret not in clean
    assert "***" in clean


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in (
        "stored 5 trades for BTCUSDT",
        "access log is on",  # the word without a value
        "source binance: connected",
        '{"route":"/api/token","status":200}',
    ):
        assert redact(text) == text


def test_filter_redacts_arguments_and_tracebacks() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "user %s sent %r", ("bob", {"password": "hunter2"}), None
    )
    assert RedactFilter().filter(record)
    assert "hunter2" not in record.getMessage()
    assert "bob" in record.getMessage()

    try:
        raise ValueError("bad token=abc123")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info)
    RedactFilter().filter(record)
    assert record.exc_text is not None
    assert "abc123" not in record.exc_text
    assert "ValueError" in record.exc_text


def test_logging_config_puts_the_filter_on_every_handler() -> None:
    config = logging_config("info")
    assert config["root"]["level"] == "INFO"
    for handler in config["handlers"].values():
        assert handler["filters"] == ["redact"]
    json.dumps(config, default=str)  # plain data, fit for uvicorn's `log_config`


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/token", RouteClass.LOGIN),
        ("POST", "/api/token/", RouteClass.LOGIN),
        ("POST", "/api/token/refresh", RouteClass.LOGIN),
        ("POST", "/api/user/register/", RouteClass.REGISTRATION),
        ("GET", "/api/token", RouteClass.READS),
        ("PATCH", "/api/market/session/1", RouteClass.WRITES),
        ("DELETE", "/v1/keys/1", RouteClass.WRITES),
        ("GET", "/v1/trades", RouteClass.READS),
        ("OPTIONS", "/api/token", RouteClass.UNLIMITED),
        ("GET", "/metrics", RouteClass.UNLIMITED),
        ("GET", "/healthz/", RouteClass.UNLIMITED),
    ],
)
def test_route_classes(method: str, path: str, expected: RouteClass) -> None:
    assert classify(method, path) is expected


def test_auth_paths() -> None:
    assert is_auth_path("/api/token/")
    assert is_auth_path("/api/user/register")
    assert not is_auth_path("/api/user/resource")


@pytest.fixture(scope="module")
def envelopes() -> Envelopes:
    """The envelopes the app collects from the seed contracts it mounts."""
    settings = Settings(_env_file=None)
    envelopes: Envelopes = create_app(settings).state.envelopes
    return envelopes


@pytest.mark.parametrize(
    ("path", "keys"),
    [
        ("/v1/trades", {"type", "title", "status", "detail"}),
        ("/", {"type", "title", "status", "detail"}),
        ("/api/token", {"code", "status", "data", "message"}),
        ("/api/market/bid/", {"code", "status", "data", "message"}),
        ("/api/current_price", {"detail"}),
        ("/api/crypto_price/statistics/", {"detail"}),
        ("/session/3/transaction", {"error"}),
        ("/crypto/training_data/daily", {"error"}),
        ("/symbols", {"error"}),
        ("/exchanges", {"error"}),
        ("/tickers/bitcoin/binance", {"error"}),
        ("/price-history-minutes/5/BTCUSDT", {"error"}),
        ("/apiary", {"type", "title", "status", "detail"}),
        ("/sessions", {"type", "title", "status", "detail"}),
        ("/v1/sessions/3/model", {"type", "title", "status", "detail"}),
    ],
)
def test_error_envelope_follows_the_path(envelopes: Envelopes, path: str, keys: set[str]) -> None:
    response = envelopes.error(path, 429, "Too Many Requests", "slow down")
    assert response.status_code == 429
    assert set(json.loads(bytes(response.body))) == keys
    problem_json = keys == {"type", "title", "status", "detail"}
    assert (response.media_type == "application/problem+json") is problem_json


def test_request_id_acceptance() -> None:
    assert accept_request_id("abc-DEF_1.2") == "abc-DEF_1.2"
    assert accept_request_id("a" * 128) == "a" * 128
    for bad in (None, "", "a" * 129, "a b", "a/b", "a\nb"):
        made = accept_request_id(bad)
        assert made != bad
        assert len(made) == 32


class _NotingStream(io.StringIO):
    """A stream that notes the threads that write to it and how many writes it took."""

    def __init__(self) -> None:
        super().__init__()
        self.writers: set[str] = set()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writers.add(threading.current_thread().name)
        self.writes += 1
        return super().write(text)


def test_access_lines_are_written_by_a_background_thread_and_none_is_lost() -> None:
    from tickhub.gateway._logs import QueuedStreamHandler

    stream = _NotingStream()
    handler = QueuedStreamHandler(stream)
    handler.addFilter(RedactFilter())
    log = logging.getLogger("tests.queued_access")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        for i in range(500):
            log.info('{"n":%d,"password":"hunter2"}', i)
    finally:
        log.removeHandler(handler)
        handler.close()  # drains the queue
    lines = stream.getvalue().splitlines()
    assert len(lines) == 500
    assert lines[-1] == '{"n":499,"password":"***"}'
    assert stream.writers and threading.current_thread().name not in stream.writers


def test_made_request_ids_are_unique_hex_and_differ_across_processes() -> None:
    import multiprocessing
    import re

    from tickhub.gateway._context import new_request_id

    made = [new_request_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in made[::997])
    # a worker forked from this process, and one started afresh, make ids of their own
    for method in ("fork", "spawn"):
        ctx = multiprocessing.get_context(method)
        with ctx.Pool(1) as pool:
            theirs = pool.apply(_ids_made_here, (1_000,))
        assert len(set(theirs)) == len(theirs)
        assert not set(theirs) & set(made), method
        assert not set(theirs) & {new_request_id() for _ in range(1_000)}, method


def _ids_made_here(n: int) -> list[str]:
    from tickhub.gateway._context import new_request_id

    return [new_request_id() for _ in range(n)]


def test_access_lines_are_made_into_text_by_the_writer_thread() -> None:
    from tickhub.gateway._access import AccessLine
    from tickhub.gateway._logs import QueuedStreamHandler

    made_in: set[str] = set()

    class Noted(AccessLine):
        __slots__ = ()

        def __str__(self) -> str:
            made_in.add(threading.current_thread().name)
            return super().__str__()

    stream = io.StringIO()
    handler = QueuedStreamHandler(stream)
    handler.addFilter(RedactFilter())
    log = logging.getLogger("tests.lazy_access")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    fields = (0.25, "r-1", "GET", "/v1/prices/{exchange}/{symbol}", 200, 1.23456, "10.0.0.1", 42)
    try:
        log.info(Noted(fields))
        handler.put_fields(fields)  # the same line, queued as bare fields
    finally:
        log.removeHandler(handler)
        handler.close()
    expected = {
        "time": "1970-01-01T00:00:00.250Z",
        "request_id": "r-1",
        "method": "GET",
        "route": "/v1/prices/{exchange}/{symbol}",
        "status": 200,
        "duration_ms": 1.235,
        "client": "10.0.0.1",
        "bytes": 42,
    }
    record_line, fields_line = stream.getvalue().splitlines()
    assert json.loads(record_line) == expected
    assert fields_line == record_line
    assert made_in and threading.current_thread().name not in made_in


def test_redaction_skips_only_lines_that_name_no_secret() -> None:
    line = '{"route":"/api/current_price","status":200,"client":"10.0.0.1"}'
    assert redact(line) is line  # nothing to mask: the patterns are not even run
    # any case, any spelling the patterns know, non-ASCII look-alikes, bare tokens
    for text in ("PaSsWoRd=hunter2", "X-API-KEY: hunter2", "paſsword=hunter2",
                 "Cookie: sid=hunter2", f"id {JWT} end"):  # fmt: skip
        assert "hunter2" not in redact(text) and JWT not in redact(text), text
