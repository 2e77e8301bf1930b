"""The access log as `tickhub api` writes it (`logging_config`: the queued writer alone on
`tickhub.access`), through the real app: one well-formed line per request, in order,
none lost, secrets masked, other handlers and filters still honoured."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tickhub.app import create_app
from tickhub.gateway import RedactFilter
from tickhub.gateway._access import AccessFields
from tickhub.gateway._logs import QueuedStreamHandler
from tickhub.public import require_authentication
from tickhub.settings import Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl"
FIELDS = {"time", "request_id", "method", "route", "status", "duration_ms", "client", "bytes"}


class Writer:
    """The queued writer installed as `logging_config` installs it, on a stream of ours;
    counts the lines queued as bare fields."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = QueuedStreamHandler(self.stream)
        self.handler.addFilter(RedactFilter())
        self.as_fields = 0
        put = self.handler.put_fields

        def counting(fields: AccessFields) -> None:
            self.as_fields += 1
            put(fields)

        self.handler.put_fields = counting  # type: ignore[method-assign]

    def alone(self) -> None:
        """Ours alone on the logger: as `logging_config` leaves it, and without the capture
        handlers the test runner adds for the test's own call."""
        log = logging.getLogger("tickhub.access")
        log.handlers[:] = [self.handler]
        log.propagate = False
        log.setLevel(logging.INFO)

    def lines(self) -> list[dict[str, object]]:
        self.handler.close()  # writes what is queued
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def writer() -> Iterator[Writer]:
    log = logging.getLogger("tickhub.access")
    saved = log.handlers[:], log.propagate, log.level
    w = Writer()
    try:
        yield w
    finally:
        w.handler.close()
        log.handlers[:] = saved[0]
        log.propagate = saved[1]
        log.setLevel(saved[2])


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        _env_file=None,
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'tickhub.db'}",
        sources=[],
    )
    app = create_app(settings)
    app.dependency_overrides[require_authentication] = lambda: None

    @app.get("/v1/test/echo/{word}")
    async def echo(word: str) -> dict[str, str]:
        return {"word": word}

    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_burst_writes_one_line_per_request_in_order(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    writer.alone()
    sent = [await client.get(f"/v1/test/echo/w{i}", headers={"x-request-id": f"seq-{i}"})
            for i in range(300)]  # fmt: skip
    burst = await asyncio.gather(
        *(client.get(f"/v1/test/echo/b{i}", headers={"x-request-id": f"burst-{i}"})
          for i in range(500))
    )  # fmt: skip
    lines = writer.lines()
    assert writer.as_fields == 800  # no `LogRecord` on the way
    assert len(lines) == 800
    assert all(set(line) == FIELDS for line in lines)
    assert [line["request_id"] for line in lines[:300]] == [f"seq-{i}" for i in range(300)]
    assert sorted(str(line["request_id"]) for line in lines[300:]) == sorted(
        f"burst-{i}" for i in range(500)
    )
    answers = {r.request.headers["x-request-id"]: r for r in [*sent, *burst]}
    for line in lines:
        r = answers.pop(str(line["request_id"]))
        assert line["status"] == r.status_code == 200
        assert line["bytes"] == len(r.content)
        assert line["route"] == "/v1/test/echo/{word}"  # the template, never the path
        assert line["method"] == "GET" and line["client"] == "10.0.0.7"
        assert str(line["time"]).endswith("Z")


async def test_secrets_in_what_the_client_chose_are_masked(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    writer.alone()
    r = await client.get("/v1/test/echo/x?token=SecretTok-qry", headers={"x-request-id": JWT})
    assert r.headers["x-request-id"] == JWT  # a sane id: accepted, and answered as given
    (line,) = writer.lines()
    assert line["request_id"] == "***"
    assert JWT not in writer.stream.getvalue()
    assert "SecretTok" not in writer.stream.getvalue()


async def test_other_handlers_and_filters_see_every_line(
    client: httpx.AsyncClient, writer: Writer
) -> None:
    writer.alone()
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    class NoNotFound(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return bool(json.loads(record.getMessage())["status"] != 404)

    log = logging.getLogger("tickhub.access")
    extra = Collect()
    log.addHandler(extra)
    try:
        await client.get("/v1/test/echo/a", headers={"x-request-id": "with-extra"})
    finally:
        log.removeHandler(extra)
    writer.handler.addFilter(NoNotFound())
    await client.get("/nowhere", headers={"x-request-id": "dropped-404"})
    await client.get("/v1/test/echo/b", headers={"x-request-id": "kept-200"})
    lines = writer.lines()
    assert [line["request_id"] for line in lines] == ["with-extra", "kept-200"]
    assert writer.as_fields == 0  # records, so that every handler and filter sees them
    assert len(seen) == 1 and json.loads(seen[0]) == lines[0]


async def test_a_formatter_of_its_own_is_used(client: httpx.AsyncClient, writer: Writer) -> None:
    writer.alone()
    writer.handler.setFormatter(logging.Formatter("access %(levelname)s %(message)s"))
    await client.get("/v1/test/echo/a", headers={"x-request-id": "formatted"})
    writer.handler.close()
    (line,) = writer.stream.getvalue().splitlines()
    assert line.startswith("access INFO {")
    assert json.loads(line.removeprefix("access INFO "))["request_id"] == "formatted"
    assert writer.as_fields == 0


def test_the_configured_writer_takes_bare_fields() -> None:
    """What `tickhub api` and `tickhub up` install: the writer alone on the logger, as the
    fast path wants it (in a process of its own: `dictConfig` replaces every handler)."""
    code = (
        "import logging, logging.config\n"
        "from tickhub.gateway import logging_config\n"
        "logging.config.dictConfig(logging_config('info'))\n"
        "log = logging.getLogger('tickhub.access')\n"
        "(h,) = log.handlers\n"
        "print(type(h).__name__, h.takes_fields, log.propagate, log.filters)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["QueuedStreamHandler", "True", "False", "[]"]


def test_lines_go_to_the_streams_of_the_moment_they_are_written() -> None:
    """A command run inside another program (a test runner, `CliRunner`) configures logging
    while stdout and stderr are swapped for buffers that are closed after: the lines
    written later go to the streams that replaced them, not into a closed buffer."""
    code = (
        "import io, logging, logging.config, sys\n"
        "from tickhub.gateway import logging_config\n"
        "real = sys.stdout, sys.stderr\n"
        "sys.stdout, sys.stderr = io.StringIO(), io.StringIO()\n"
        "logging.config.dictConfig(logging_config('info'))\n"
        "swapped = sys.stdout, sys.stderr\n"
        "sys.stdout, sys.stderr = real\n"
        "for stream in swapped: stream.close()\n"
        "logging.getLogger('tickhub.test').warning('after the swap')\n"
        "(writer,) = logging.getLogger('tickhub.access').handlers\n"
        "writer.put_fields((0.0, 'rid', 'GET', '/x', 200, 1.0, '127.0.0.1', 2))\n"
        "writer.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "after the swap" in done.stderr
    assert "Logging error" not in done.stderr, done.stderr
    assert json.loads(done.stdout)["request_id"] == "rid"
