"""IOTA wallet addresses (seed 003 checks them with `iota_sdk`).

An address is Bech32 (BIP-173, not Bech32m): a network prefix (`iota`, `atoi` for the
IOTA testnet, `smr`, `rms` for the Shimmer testnet), `1`, then 33 bytes: a type byte
(0 Ed25519, 8 alias, 16 NFT) and a 32-byte hash. Pure: no I/O.
"""

from __future__ import annotations

from bech32 import bech32_decode, convertbits

NETWORKS = ("iota", "atoi", "smr", "rms")
ADDRESS_KINDS = {0: "ed25519", 8: "alias", 16: "nft"}
HASH_BYTES = 32


class InvalidAddress(ValueError):
    """Why an address is refused."""


def check_address(address: str) -> str:
    """The address in lower case when it is a valid IOTA address; otherwise
    `InvalidAddress`. (Bech32 may be written all upper case; one spelling is kept so that
    uniqueness holds.)"""
    if address != address.strip() or not address:
        raise InvalidAddress("empty or surrounded by spaces")
    hrp, data = bech32_decode(address)
    if hrp is None or data is None:
        raise InvalidAddress("not Bech32, or the checksum does not match")
    if hrp not in NETWORKS:
        raise InvalidAddress(f"unknown network prefix {hrp!r} (expected one of {NETWORKS})")
    payload = convertbits(data, 5, 8, False)
    if payload is None:
        raise InvalidAddress("bad padding")
    if len(payload) != 1 + HASH_BYTES:
        raise InvalidAddress(f"{len(payload)} bytes where an address has {1 + HASH_BYTES}")
    if payload[0] not in ADDRESS_KINDS:
        raise InvalidAddress(f"unknown address type {payload[0]}")
    return address.lower()


def is_valid_address(address: str) -> bool:
    try:
        check_address(address)
    except InvalidAddress:
        return False
    return True
