"""A service that starts while its database cannot be reached (restarting, or not up yet
beside it) waits for it instead of exiting; a database that stays away is given up on."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from tests.fixtures.tcp_proxy import TcpProxy
from tickhub.bootstrap import database
from tickhub.settings import Settings

pytestmark = pytest.mark.postgres


class _Seen(logging.Handler):
    """Sets `event` when a record's message holds `words`."""

    def __init__(self, words: str) -> None:
        super().__init__()
        self.words = words
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.words in record.getMessage():
            self.event.set()


async def test_a_service_starting_waits_for_the_database(pg_url: str) -> None:
    proxy = TcpProxy(pg_url)
    url = await proxy.start()
    proxy.refusing = True  # the database is not there yet
    seen = _Seen("database unavailable at start")
    logging.getLogger("tickhub").addHandler(seen)

    async def start() -> int:
        settings = Settings(_env_file=None, database_url=url)
        async with database(settings, migrate=True) as engine, engine.connect() as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    try:
        starting = asyncio.create_task(start())
        await asyncio.wait_for(seen.event.wait(), 30)
        assert not starting.done()  # it waits rather than exits
        proxy.refusing = False  # the database is back
        assert await asyncio.wait_for(starting, 60) == 1
    finally:
        logging.getLogger("tickhub").removeHandler(seen)
        await proxy.close()


async def test_a_database_that_stays_away_is_given_up_on(pg_url: str) -> None:
    proxy = TcpProxy(pg_url)
    url = await proxy.start()
    proxy.refusing = True
    try:
        with pytest.raises(Exception) as failed:
            async with database(
                Settings(_env_file=None, database_url=url), migrate=True, wait_s=1.0
            ):
                pass
        assert "connect" in repr(failed.value).lower() or isinstance(failed.value, OSError)
    finally:
        await proxy.close()
