"""SSLCommerz `verify_sign` (providers.md §2.5)."""

from __future__ import annotations

from payment_service.providers.sslcommerz import compute_verify_sign, verify_sign_ok
from payment_service.testing import payloads


def test_readme_test_vector_is_reproduced() -> None:
    vector = payloads.README_VECTOR
    assert compute_verify_sign(vector, payloads.README_VECTOR_PASSWORD) == "d42fab70ae0bcbda5280e7baffef60b0"
    assert verify_sign_ok(vector, payloads.README_VECTOR_PASSWORD)


def test_a_changed_amount_breaks_the_signature() -> None:
    forged = {**payloads.README_VECTOR, "amount": "1.00"}
    assert not verify_sign_ok(forged, payloads.README_VECTOR_PASSWORD)


def test_the_wrong_store_password_breaks_the_signature() -> None:
    assert not verify_sign_ok(payloads.README_VECTOR, "another-password")


def test_a_paid_notice_must_sign_the_fields_we_act_on() -> None:
    # verify_key is attacker-chosen: a VALID notice that does not sign val_id/amount/currency is refused.
    fields = payloads.sign({"status": "VALID", "tran_id": "T1"})
    assert not verify_sign_ok(fields, payloads.STORE_PASSWORD)


def test_missing_and_null_values_count_as_empty_strings() -> None:
    fields = payloads.sign(
        {"status": "CANCELLED", "tran_id": "T1", "bank_tran_id": "", "error": "Cancelled by User"}
    )
    fields["verify_key"] += ",value_b"  # named in verify_key but absent from the post → ""
    fields["verify_sign"] = compute_verify_sign(fields, payloads.STORE_PASSWORD)
    assert verify_sign_ok(fields, payloads.STORE_PASSWORD)
