"""IOTA (Bech32) wallet addresses."""

from __future__ import annotations

import pytest

from tests.fixtures.accounts import SEED_ATOI, SEED_RMS_1, SEED_RMS_2, SEED_RMS_3, iota_address
from tickhub.market.addresses import InvalidAddress, check_address, is_valid_address


@pytest.mark.parametrize("address", [SEED_ATOI, SEED_RMS_1, SEED_RMS_2, SEED_RMS_3])
def test_real_testnet_addresses(address: str) -> None:
    assert check_address(address) == address


@pytest.mark.parametrize("hrp", ["iota", "atoi", "smr", "rms"])
@pytest.mark.parametrize("kind", [0, 8, 16])
def test_every_network_and_kind(hrp: str, kind: int) -> None:
    address = iota_address(7, hrp, kind=kind)
    assert is_valid_address(address)
    assert check_address(address.upper()) == address


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        (SEED_ATOI[:-3] + "aaa", "checksum"),
        (SEED_ATOI[:20] + ("q" if SEED_ATOI[20] != "q" else "p") + SEED_ATOI[21:], "checksum"),
        (iota_address(1, "bc"), "network"),
        (iota_address(1, "tb"), "network"),
        (iota_address(1, "atoi", size=20), "bytes"),
        (iota_address(1, "atoi", size=31), "bytes"),
        (iota_address(1, "atoi", kind=1), "type"),
        (SEED_ATOI[:12] + SEED_ATOI[12:].upper(), "checksum"),
        ("", "empty"),
        (f" {SEED_ATOI}", "spaces"),
        ("atoi1", "checksum"),
    ],
)
def test_bad_addresses(address: str, reason: str) -> None:
    with pytest.raises(InvalidAddress, match=reason):
        check_address(address)
    assert not is_valid_address(address)
