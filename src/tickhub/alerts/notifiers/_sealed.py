"""Channel secrets at rest: an apprise URL holds the user's credentials (API tokens,
webhook keys, passwords), so it is stored encrypted and shown only as an id.

Two keys are derived from the server's secret key (`TICKHUB_AUTH_SECRET_KEY`, or the
generated `<data_dir>/secret_key`) with HKDF-SHA256, each for one purpose, so the key
that signs tokens is never used raw here:

- the sealing key: Fernet (AES-128-CBC with HMAC-SHA256, authenticated, with a random
  IV), over the URL;
- the naming key: HMAC-SHA256 of the URL, whose first 16 hex digits are the channel's
  `id`. It is stable (the same URL keeps its id, deliveries and proof) and, being keyed,
  cannot be used to guess the URL offline.

Changing the server key makes the stored URLs unreadable: their deliveries fail with a
category that asks for the URL again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tickhub.accounts import service as accounts
from tickhub.settings import Settings

ID_HEX_DIGITS = 16
_SEAL_INFO = b"tickhub/alerts/channel-url/seal/v1"
_NAME_INFO = b"tickhub/alerts/channel-url/id/v1"


def _derive(master: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)


class Unreadable(Exception):
    """A sealed value that this server's key does not open (another key, or damaged)."""


class ChannelKeys:
    """Seals and names channel URLs with keys derived from the server's secret key."""

    def __init__(self, master: bytes) -> None:
        if len(master) < 16:
            raise ValueError("the server key is too short to derive channel keys from")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(master, _SEAL_INFO)))
        self._naming = _derive(master, _NAME_INFO)

    def seal(self, url: str) -> str:
        return self._fernet.encrypt(url.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise Unreadable("the stored channel URL cannot be decrypted") from exc

    def name(self, url: str) -> str:
        """The channel's id: stable for one URL, revealing nothing of it."""
        digest = hmac.new(self._naming, url.encode(), hashlib.sha256).hexdigest()
        return digest[:ID_HEX_DIGITS]


def channel_keys(settings: Settings) -> ChannelKeys:
    """The channel keys of this server (from the key its tokens are signed with)."""
    return ChannelKeys(accounts.server_key(settings))
