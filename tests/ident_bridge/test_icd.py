import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ident_bridge import icd

SHARED = Path(__file__).resolve().parents[3] / "shared" / "ident-icd.schema.json"


def test_vendored_schema_is_the_shared_contract():
    if not SHARED.exists():
        if os.environ.get("CI"):  # CI lays shared/ beside the clone: its absence there is a failure
            pytest.fail(f"{SHARED} is missing on CI", pytrace=False)
        pytest.skip("shared/ is not beside this checkout")
    assert icd.SCHEMA_PATH.read_bytes() == SHARED.read_bytes()


def test_sign_and_verify_roundtrip():
    raw = b'{"a":1}'
    headers = icd.signed_headers(raw, "k", timestamp=1_700_000_000)
    icd.verify_signature(raw, headers[icd.TIMESTAMP_HEADER], headers[icd.SIGNATURE_HEADER], "k", now=1_700_000_100)
    with pytest.raises(icd.SignatureError):
        icd.verify_signature(raw, headers[icd.TIMESTAMP_HEADER], headers[icd.SIGNATURE_HEADER], "other", now=1_700_000_100)


def test_signature_is_lowercase_hex_hmac_of_timestamp_dot_body():
    import hashlib
    import hmac

    expected = hmac.new(b"secret", b"123.body", hashlib.sha256).hexdigest()
    assert icd.sign(b"body", "secret", 123) == "v1=" + expected


@given(st.binary(min_size=0, max_size=64))
def test_sniff_recognises_only_the_four_magic_numbers(data):
    kind = icd.sniff_media_type(data)
    if kind is not None:
        assert any(data.startswith(p) for p in icd._MAGIC[kind])


def test_no_match_reply_may_carry_nothing_else():
    message = icd.envelope("request.reply", "AUS", {"request_ref": "AUS-1", "outcome": "no_match"})
    assert icd.schema_errors(message) == []
    message["body"]["package"] = {}
    assert [e.pointer for e in icd.schema_errors(message)] == ["/body/package"]


def test_example_messages_of_the_icd_validate():
    message = {
        "message_id": "9b2f5c1e-2d7a-4c55-9a43-0f3c8d1e6a10", "type": "request.received", "sent_at": "2026-11-25T14:03:11Z",
        "partner": "AUS",
        "body": {"request_ref": "AUS-2026-000123", "template": "AUS-v1",
                 "requestor": {"name": "J. Citizen", "organization": "Department of Home Affairs", "email": "j.citizen@example.gov.au"},
                 "requested_at": "2026-11-25T14:00:00Z", "reason": "refugee_claimant", "priority": "high",
                 "fin": "FIN0000123456", "encounter_id": "AUS-FP-778812",
                 "subject": {"family_name": "Nguyễn", "given_names": "Thị Minh", "date_of_birth": "03/07/1988", "gender": "Female",
                             "country_of_birth": "VNM", "also_known_as": [{"family_name": "Nguyen", "given_names": "Thi Minh"}],
                             "client_id": "88213344"},
                 "requested_items": ["biographic", "immigration_status", "document_images"]},
    }
    assert icd.schema_errors(message) == []
