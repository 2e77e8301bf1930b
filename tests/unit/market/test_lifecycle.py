"""The session lifecycle as a state machine (hypothesis): whatever transitions are asked,
in whatever order, the rules hold: a session moves one step at a time along staged →
open → closed → running → finished, a refused move changes nothing and names the current
status, each status reached is stamped, at most one session is open, and a new session is
created only when every earlier one is finished."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tests.fixtures.accounts import iota_address
from tests.fixtures.clocks import FakeClock
from tests.fixtures.fake_market import FakeMarketUow, fake_market
from tickhub.market import service
from tickhub.market.errors import Conflict, NotFound

ORDER = ["staged", "open", "closed", "running", "finished"]
STAMPS = {"open": "open_ts", "closed": "close_ts", "running": "launch_ts", "finished": "finish_ts"}


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.uow = FakeMarketUow()
        self.clock = FakeClock()
        self.market = fake_market(self.uow, clock=self.clock)
        self.expected: dict[int, str] = {}
        self.run(service.set_market_wallet(self.market, address=iota_address(1), create=True))

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.loop.close()

    @rule(number=st.integers(0, 50))
    def create(self, number: int) -> None:
        unfinished = any(s != "finished" for s in self.expected.values())
        try:
            created = self.run(
                service.create_session(
                    self.market,
                    session_number=number,
                    market_price=Decimal(5),
                    b_min=Decimal(1),
                    b_max=Decimal(10),
                    n_price_steps=5,
                    delta=0.1,
                )
            )
        except Conflict as exc:
            assert unfinished or "exists already" in exc.message
            return
        assert not unfinished
        assert created.status == "staged" and created.staged_ts is not None
        self.expected[created.id] = "staged"

    @rule(which=st.integers(0, 10), status=st.sampled_from(ORDER))
    def move(self, which: int, status: str) -> None:
        ids = sorted(self.expected)
        session_id = ids[which % len(ids)] if ids else 1
        before = self.expected.get(session_id)
        commits = self.uow.commits
        self.clock.advance(seconds=1)
        try:
            moved = self.run(service.move_session(self.market, session_id, status))
        except NotFound:
            assert before is None
            return
        except Conflict as exc:
            assert self.uow.commits == commits
            assert f"it is '{before}'" in exc.message
            assert before is None or ORDER.index(status) != ORDER.index(before) + 1
            return
        assert before is not None and ORDER.index(status) == ORDER.index(before) + 1
        assert getattr(moved, STAMPS[status]) == self.clock()
        self.expected[session_id] = status

    @invariant()
    def the_store_agrees(self) -> None:
        found = self.run(service.sessions(self.market, service.SessionFilter()))
        assert {s.id: s.status for s in found} == self.expected
        assert sum(s.status == "open" for s in found) <= 1
        for s in found:
            reached = ORDER[1 : ORDER.index(s.status) + 1]
            assert all(getattr(s, STAMPS[x]) is not None for x in reached)
            assert all(getattr(s, STAMPS[x]) is None for x in ORDER[1:] if x not in reached)


Lifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestLifecycle = Lifecycle.TestCase
