"""Erased shoppers are remembered by a keyed digest (`shoppers.erasure_digest`), which guessing ids
cannot reverse without the key; rows from before the key are re-keyed to the same value."""

from __future__ import annotations

import hashlib
import hmac

from shoppers.erasure_digest import ShopperDigest, legacy_digest

KEY = b"k" * 32


def test_the_digest_is_keyed_not_a_plain_sha256() -> None:
    plain = hashlib.sha256(b"shopper-42").hexdigest()
    assert ShopperDigest(KEY).of("shopper-42") != plain
    assert ShopperDigest(KEY).of("shopper-42") == hmac.new(KEY, plain.encode(), hashlib.sha256).hexdigest()


def test_another_key_gives_another_digest() -> None:
    assert ShopperDigest(KEY).of("shopper-42") != ShopperDigest(b"other key").of("shopper-42")
    assert ShopperDigest(KEY).of("shopper-42") != ShopperDigest(KEY).of("shopper-43")


def test_guessing_ids_without_the_key_finds_nothing() -> None:
    stored = ShopperDigest(KEY).of("shopper-42")
    assert stored not in {legacy_digest(f"shopper-{n}") for n in range(1000)}
    assert stored not in {ShopperDigest(b"").of(f"shopper-{n}") for n in range(1000)}


def test_an_old_plain_digest_rekeys_to_what_the_shopper_digests_to_now() -> None:
    digests = ShopperDigest(KEY)
    assert digests.rekeyed(legacy_digest("shopper-42")) == digests.of("shopper-42")
    assert digests.stored_forms(["shopper-42"]) == {digests.of("shopper-42"): "shopper-42",
                                                     legacy_digest("shopper-42"): "shopper-42"}  # fmt: skip


def test_the_key_is_not_in_the_repr() -> None:
    assert "kkkk" not in repr(ShopperDigest(KEY))
