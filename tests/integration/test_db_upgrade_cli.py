"""`tickhub db upgrade` says which database it upgraded, without its password."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from tickhub.cli import app

PASSWORD = "pw-that-must-not-show-9f3e"  # PostgreSQL here trusts: any will do


@pytest.mark.postgres
async def test_db_upgrade_masks_the_password(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    env = {"TICKHUB_DATABASE_URL": url, "TICKHUB_LOG_LEVEL": "WARNING", "TICKHUB_ENV": "test"}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    assert "database at head" in result.output
    assert PASSWORD not in result.output
    assert "***" in result.output
