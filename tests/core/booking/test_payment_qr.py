"""The booking's VietQR payload, checked against payloads published by others.

Sources (public, copied verbatim):
- subiz/vietqr, README.md (github.com/subiz/vietqr):
  ``vietqr.Generate(120000, "970415", "0011001932418", "ủng hộ lũ lụt")`` prints SUBIZ.
- giautm/emvqr-go, emvqr_test.go ``Test_BuildPayload`` "VietQR" case: GIAUTM (fields 62
  and 38 in a non-canonical order, amount 6000, purpose "tien le").
- thanhtinhpas1/vietqr-parser, README on pkg.go.dev: a static Vietcombank (970436) code,
  THANHTINH. It carries payload format indicator "00" where EMVCo says "01": its CRC is
  right, and our strict parser refuses it for that field.
"""

from __future__ import annotations

import pytest

from core.booking.service import payment_purpose, vietqr_for
from core.cases.models import Case
from core.settings import Settings
from labels.errors import InvalidVietQr
from labels.vietqr import crc16_ccitt_false, parse_vietqr

SUBIZ = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
GIAUTM = (
    "00020101021262110807tien le38560010A0000007270126000697041501121133666688880208QRIBFTTA"
    "5303704540460005802VN63046893"
)
THANHTINH = (
    "00020001021238570010A00000072701270006970436011308810004580860208QRIBFTTA53037045802VN6304CD60"
)


def tlv(data: str) -> list[tuple[str, str]]:
    """A plain TLV walk, independent of labels.vietqr, to compare structures."""
    out, i = [], 0
    while i < len(data):
        tag, length = data[i : i + 2], int(data[i + 2 : i + 4])
        out.append((tag, data[i + 4 : i + 4 + length]))
        i += 4 + length
    assert i == len(data)
    return out


@pytest.mark.parametrize("payload", [SUBIZ, GIAUTM, THANHTINH])
def test_published_payloads_have_valid_tlv_and_crc(payload: str) -> None:
    fields = tlv(payload)
    assert fields[-1][0] == "63"
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == fields[-1][1]
    merchant = dict(tlv(dict(fields)["38"]))
    assert merchant["00"] == "A000000727" and merchant["02"] == "QRIBFTTA"


def test_booking_builder_reproduces_a_published_payload_byte_for_byte(settings: Settings) -> None:
    # The booking's own path (settings → vietqr_for) with subiz's account and amount.
    subiz = settings.model_copy(update={"vietqr_bank_bin": "970415",
                                        "vietqr_account": "0011001932418"})  # fmt: skip
    assert vietqr_for(subiz, 120000, "ủng hộ lũ lụt") == SUBIZ


def test_booking_payload_has_the_published_shape_with_the_item_id(settings: Settings) -> None:
    case = Case(id=42, booking_id=1)
    payload = vietqr_for(settings, 264_000, payment_purpose(case, "DH000000123VN"))
    ours, theirs = tlv(payload), tlv(SUBIZ)
    assert [tag for tag, _ in ours] == [tag for tag, _ in theirs]  # 00 01 38 53 54 58 62 63
    fields = dict(ours)
    assert fields["01"] == "12"  # dynamic: one payment, amount locked in the banking app
    assert fields["54"] == "264000" and fields["53"] == "704" and fields["58"] == "VN"
    assert dict(tlv(fields["62"]))["08"] == "HOSO DH000000123VN"
    beneficiary = dict(tlv(dict(tlv(fields["38"]))["01"]))
    assert beneficiary == {"00": settings.vietqr_bank_bin, "01": settings.vietqr_account}
    assert f"{crc16_ccitt_false(payload[:-4].encode()):04X}" == fields["63"]
    # A receive-only booking has no item yet: the case number stands in.
    assert payment_purpose(case, None) == "HOSO CASE 42"


def test_parser_reads_the_conforming_examples_and_refuses_the_nonconforming_one() -> None:
    assert parse_vietqr(SUBIZ).amount == 120000
    assert parse_vietqr(GIAUTM).purpose == "tien le"
    with pytest.raises(InvalidVietQr, match="field 00"):
        parse_vietqr(THANHTINH)
