"""What Tessera keeps of an erased shopper: a keyed digest of the id, useless to anyone without the key.

Contract: pure (hashlib and hmac only). An erasure must be remembered (late spooled events,
buffered exposures and re-imported history of that shopper are dropped), but what is remembered
must not name them. A plain SHA-256 of `shopper-42` did: shopper ids are short and guessable, and
guessing reversed one in a quarter of a second. Stored digests (`erased_shoppers.user_digest`, and
the `shopper:<first 12>` of audit entries) are therefore, scheme `hmac-sha256`:

    HMAC-SHA256(key, hex(SHA-256(user_id)))    as lowercase hex

The key is `TESSERA_ERASURE_KEY`, or one derived from the app's secret key (`Settings.erasure_digest_key`).
It must stay the same for as long as erasures are remembered: with another key, erased shoppers'
digests no longer match and their late events would count again.

Why HMAC over the SHA-256 rather than over the id: rows written before the key existed (scheme
`sha256`, the plain SHA-256) can be re-keyed without knowing the ids — `rekeyed(old)` is exactly
what `of(user_id)` gives that shopper — so `shoppers.service.rekey_legacy_erasures` converts them
at start and no guessable digest stays in the database. Until it has run (a start while the
database was down), lookups also match the old form (`stored_forms`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field

KEYED = "hmac-sha256"
LEGACY = "sha256"


def legacy_digest(user_id: str) -> str:
    """The plain SHA-256 older versions stored (scheme `sha256`)."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ShopperDigest:
    """Digests of shopper ids under one key: what erasure stores and what lookups compare."""

    key: bytes = field(repr=False)

    def of(self, user_id: str) -> str:
        """The shopper's stored digest (scheme `hmac-sha256`)."""
        return self.rekeyed(legacy_digest(user_id))

    def rekeyed(self, old: str) -> str:
        """A row's `sha256` digest in scheme `hmac-sha256`: the same value `of` gives its shopper."""
        return hmac.new(self.key, old.encode("ascii"), hashlib.sha256).hexdigest()

    def stored_forms(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Every digest an erasure of one of `user_ids` may be stored as (keyed, or old rows not yet
        re-keyed) → that user id."""
        forms: dict[str, str] = {}
        for user_id in user_ids:
            old = legacy_digest(user_id)
            forms[self.rekeyed(old)] = user_id
            forms[old] = user_id
        return forms
