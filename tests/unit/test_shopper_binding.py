"""The signed shopper binding: what a storefront signs, Tessera accepts only for that shopper, key and time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.shopper_binding import MAX_LIFETIME_S, derived_key, is_bound, sign

KEY = b"storefront-shared-key"
NOW = 1_800_000_000.0


@given(st.text(min_size=1, max_size=100), st.integers(1, MAX_LIFETIME_S))
def test_a_binding_holds_for_its_shopper_only(user_id: str, lifetime: int) -> None:
    binding = sign(KEY, user_id, int(NOW) + lifetime)
    assert is_bound(KEY, binding, user_id, NOW)
    assert not is_bound(KEY, binding, user_id + "x", NOW)
    assert not is_bound(b"another key", binding, user_id, NOW)


def test_expired_far_future_tampered_and_malformed_bindings_are_refused() -> None:
    good = sign(KEY, "shopper-42", int(NOW) + 60)
    assert is_bound(KEY, good, "shopper-42", NOW)
    assert not is_bound(KEY, good, "shopper-42", NOW + 61)  # expired
    assert not is_bound(KEY, sign(KEY, "shopper-42", int(NOW) + MAX_LIFETIME_S + 1), "shopper-42", NOW)
    version, expires, signature = good.split(".")
    assert not is_bound(KEY, f"{version}.{int(expires) + 1}.{signature}", "shopper-42", NOW)  # a later expiry
    assert not is_bound(KEY, f"v2.{expires}.{signature}", "shopper-42", NOW)
    for bad in ("", "v1", "v1..", "v1.x.y", "v1.-5." + signature, "v1.²." + signature, "v1." + "9" * 300):
        assert not is_bound(KEY, bad, "shopper-42", NOW)
    assert not is_bound(KEY, good, None, NOW)


def test_the_derived_key_is_stable_and_secret_dependent() -> None:
    assert derived_key("a") == derived_key("a") != derived_key("b")
    assert len(derived_key("a")) == 64
