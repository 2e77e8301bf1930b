"""Market messages on the bus, and how they travel (`MESSAGES`). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from tickhub.bus.codec import MessageSpec, message_spec

LAUNCHED_TOPIC = "market.session.launched"
CLEARING_GROUP = "market-engine"


@dataclass(frozen=True, slots=True)
class SessionLaunched:
    """Published when an admin moves a session to `running` (gate closure, after the
    commit): the market engine clears it. Competing consumers share `CLEARING_GROUP`."""

    session_id: int
    launched_at: int  # µs

    @property
    def topic(self) -> str:
        return LAUNCHED_TOPIC


MESSAGES: tuple[MessageSpec, ...] = (message_spec(SessionLaunched, "market_session_launched"),)
"""How each market message travels on the bus."""
