"""A shopper bound to a resolve request: a token the storefront signs per shopper, verified here.

Contract: pure (hmac and hashlib only). Anyone may ask for a page as `user_id=shopper-42`; only a
request carrying the shopper's binding gets what reveals their history ("Because you bought …").
The storefront, which knows who is signed in, signs; Tessera verifies with the same key.

Format (the `Tessera-Shopper` request header), version 1:

    v1.<expires>.<signature>
    expires    the Unix time (whole seconds, UTC) after which the binding is refused
    signature  base64url without padding of HMAC-SHA256(key, "v1.<expires>.<user_id>")

The key is `TESSERA_SHOPPER_KEY` (or, unset, one derived from the app's secret key:
`flask tokens shopper-key` prints it). A binding may live at most MAX_LIFETIME_S.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

HEADER = "Tessera-Shopper"
VERSION = "v1"
MAX_LIFETIME_S = 7 * 24 * 3600


def _signature(key: bytes, user_id: str, expires: int) -> str:
    message = f"{VERSION}.{expires}.{user_id}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, user_id: str, expires: int) -> str:
    """The binding of `user_id` until `expires` (Unix seconds): what the storefront sends."""
    return f"{VERSION}.{expires}.{_signature(key, user_id, expires)}"


def is_bound(key: bytes, binding: str | None, user_id: str | None, now: float) -> bool:
    """Whether `binding` is a live signature of `user_id` under `key` (compared in constant time)."""
    if not binding or not user_id or len(binding) > 200:
        return False
    version, _, rest = binding.partition(".")
    expires_text, _, signature = rest.partition(".")
    if version != VERSION or not (expires_text.isascii() and expires_text.isdecimal()) or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if not now < expires <= now + MAX_LIFETIME_S:
        return False
    return hmac.compare_digest(signature.encode(), _signature(key, user_id, expires).encode())


def derived_key(secret_key: str) -> bytes:
    """The binding key when none is configured, as the storefront uses it (the UTF-8 bytes of this
    hex text): stable as long as the app's secret key is."""
    return hmac.new(secret_key.encode(), b"tessera shopper binding v1", hashlib.sha256).hexdigest().encode()
