"""verify_sign / verify_sign_sha2 reproduce SSLCommerz's official README test vector (providers.md §2.5)."""

from __future__ import annotations

from provider_sandbox.sslcommerz.signing import sign, verify_sign, verify_sign_sha2

README_PASSWORD = "test_testemi@ssl"
README_POST = {
    "tran_id": "5E121A0D01F92",
    "val_id": "200105225826116qFnATY9sHIwo",
    "amount": "10.00",
    "card_type": "VISA-Dutch Bangla",
    "store_amount": "9.75",
    "card_no": "418117XXXXXX6675",
    "bank_tran_id": "200105225825DBgSoRGLvczhFjj",
    "status": "VALID",
    "tran_date": "2020-01-05 22:58:21",
    "currency": "BDT",
    "card_issuer": "TRUST BANK, LTD.",
    "card_brand": "VISA",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
    "store_id": "test_testemi",
    "verify_key": (
        "amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,card_issuer_country_code,"
        "card_no,card_type,currency,currency_amount,currency_rate,currency_type,risk_level,risk_title,status,"
        "store_amount,store_id,tran_date,tran_id,val_id,value_a,value_b,value_c,value_d"
    ),
    "currency_type": "BDT",
    "currency_amount": "10.00",
    "currency_rate": "1.0000",
    "base_fair": "0.00",
    "value_a": "",
    "value_b": "",
    "value_c": "",
    "value_d": "",
    "risk_level": "0",
    "risk_title": "Safe",
}


def test_verify_sign_reproduces_the_official_readme_vector() -> None:
    assert verify_sign(README_POST, README_PASSWORD) == "d42fab70ae0bcbda5280e7baffef60b0"


def test_verify_sign_sha2_reproduces_the_official_readme_vector() -> None:
    expected = "02c0417ff467c109006382d56eedccecd68382e47245266e7b47abbb3d43976e"
    assert verify_sign_sha2(README_POST, README_PASSWORD) == expected


def test_missing_signed_fields_count_as_empty_strings() -> None:
    without_values = {k: v for k, v in README_POST.items() if not k.startswith("value_")}
    assert verify_sign(without_values, README_PASSWORD) == "d42fab70ae0bcbda5280e7baffef60b0"


def test_sign_lists_every_field_sorted_in_verify_key_and_matches_the_vector() -> None:
    fields = {k: v for k, v in README_POST.items() if k != "verify_key"}
    signed = sign(fields, README_PASSWORD)
    assert signed["verify_key"] == README_POST["verify_key"]
    assert signed["verify_sign"] == "d42fab70ae0bcbda5280e7baffef60b0"
