"""Payment verification: does a bid's payment reference (`tangle_msg_id`) carry at least
`max_payment` to the market's wallet?

`TrustAdmin` (the default, as the seed): the admin who validates has checked. With
`TICKHUB_MARKET_LEDGER_URL` set, `LedgerVerifier` asks a ledger indexer in one small
documented shape: `GET {url}/payments/{tangle_msg_id}` answers 200 `{"address": ...,
"amount": "<integer>", "confirmed": true|false}`, or 404 when the reference is unknown.
A payment to another address, unconfirmed, or short of `max_payment` is refused (409);
a ledger that cannot answer is a 503 and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol
from urllib.parse import quote

import httpx

from tickhub.market.errors import Conflict, Unavailable
from tickhub.settings import MarketSettings


class PaymentVerifier(Protocol):
    async def verify(self, tangle_msg_id: str, *, address: str, amount: Decimal) -> None:
        """Return when the payment holds; raise `Conflict` (refused) or `Unavailable`."""


class TrustAdmin:
    """The seed's behaviour: the admin who validates has checked the payment."""

    async def verify(self, tangle_msg_id: str, *, address: str, amount: Decimal) -> None:  # noqa: ARG002
        return None


@dataclass(frozen=True, slots=True)
class LedgerVerifier:
    url: str
    timeout_s: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None

    async def verify(self, tangle_msg_id: str, *, address: str, amount: Decimal) -> None:
        target = f"{self.url.rstrip('/')}/payments/{quote(tangle_msg_id, safe='')}"
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout_s, transport=self.transport
            ) as client:
                answer = await client.get(target)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"The ledger could not be reached ({type(exc).__name__}).", field="tangle_msg_id"
            ) from exc
        if answer.status_code == 404:
            raise Conflict(
                f"Tangle Message ID {tangle_msg_id} not found in IOTA Tangle lookup.",
                field="tangle_msg_id",
            )
        if answer.status_code != 200:
            raise Unavailable(f"The ledger answered {answer.status_code}.", field="tangle_msg_id")
        try:
            doc = answer.json()
            paid = Decimal(str(doc["amount"]))
            to = str(doc["address"])
            confirmed = bool(doc.get("confirmed", False))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise Unavailable("The ledger's answer is malformed.", field="tangle_msg_id") from exc
        if to != address:
            raise Conflict(
                f"Tangle Message ID {tangle_msg_id} was not found in market session "
                "(it pays another address).",
                field="tangle_msg_id",
            )
        if not confirmed:
            raise Conflict(
                f"Tangle Message ID {tangle_msg_id} is not confirmed yet.", field="tangle_msg_id"
            )
        if paid < amount:
            raise Conflict(
                f"Tangle Message ID {tangle_msg_id} pays {paid:f}, less than the bid's "
                f"max_payment {amount:f}.",
                field="tangle_msg_id",
            )


def verifier_for(settings: MarketSettings) -> PaymentVerifier:
    if settings.ledger_url:
        return LedgerVerifier(settings.ledger_url, settings.ledger_timeout_s)
    return TrustAdmin()
