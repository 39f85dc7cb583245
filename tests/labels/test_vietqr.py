from __future__ import annotations

import pytest

from labels.errors import InvalidVietQr
from labels.vietqr import build_vietqr, crc16_ccitt_false, parse_vietqr

# Published payloads, copied from public repositories:
# subiz/vietqr README.md: vietqr.Generate(120000, "970415", "0011001932418", "ủng hộ lũ lụt")
SUBIZ_README = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
# giautm/emvqr-go emvqr_test.go, Test_BuildPayload "VietQR" (fields in a non-canonical order)
GIAUTM_TEST = (
    "00020101021262110807tien le38560010A0000007270126000697041501121133666688880208QRIBFTTA"
    "5303704540460005802VN63046893"
)
# giautm/emvqr-go emvqr_test.go, Benchmark_BuildPayload (static, amount 70001)
GIAUTM_BENCH = (
    "00020101021138560010A0000007270126000697041501121133666688880208QRIBFTTA"
    "54057000153037045802VN6304ED54"
)


def test_crc_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_build_matches_subiz_published_payload_exactly() -> None:
    # Also shows the purpose losing its diacritics: "ủng hộ lũ lụt" -> "ung ho lu lut".
    assert build_vietqr("970415", "0011001932418", 120000, "ủng hộ lũ lụt") == SUBIZ_README


@pytest.mark.parametrize(
    ("payload", "bank_bin", "account", "amount", "purpose", "dynamic"),
    [
        (SUBIZ_README, "970415", "0011001932418", 120000, "ung ho lu lut", True),
        (GIAUTM_TEST, "970415", "113366668888", 6000, "tien le", True),
        (GIAUTM_BENCH, "970415", "113366668888", 70001, None, False),
    ],
)
def test_parse_published_payloads(
    payload: str, bank_bin: str, account: str, amount: int, purpose: str | None, dynamic: bool
) -> None:
    qr = parse_vietqr(payload)
    assert (qr.bank_bin, qr.account, qr.amount, qr.purpose, qr.dynamic) == (
        bank_bin,
        account,
        amount,
        purpose,
        dynamic,
    )
    assert qr.service == "QRIBFTTA"
    assert qr.currency == "704" and qr.country == "VN"


def test_static_code_without_amount_round_trips() -> None:
    payload = build_vietqr("970436", "1017595600", None, None)
    assert "010211" in payload and "54" not in parse_vietqr(payload).fields
    qr = parse_vietqr(payload)
    assert (qr.amount, qr.purpose, qr.dynamic) == (None, None, False)


def test_purpose_folds_d_with_stroke() -> None:
    qr = parse_vietqr(build_vietqr("970436", "1017595600", 26000, "Đặt cọc hồ sơ"))
    assert qr.purpose == "Dat coc ho so"


def test_card_transfer_service_code() -> None:
    assert (
        parse_vietqr(build_vietqr("970436", "9704361017595600", None, None, to_card=True)).service
        == "QRIBFTTC"
    )


def test_wrong_crc_is_named() -> None:
    tampered = GIAUTM_TEST.replace("tien le", "tienxle")
    with pytest.raises(InvalidVietQr, match="CRC should be [0-9A-F]{4}, got 6893"):
        parse_vietqr(tampered)


def test_wrong_length_is_named() -> None:
    # Field 58 claims 3 characters; recompute the CRC so only the TLV is wrong.
    body = GIAUTM_BENCH[:-4].replace("5802VN", "5803VN")
    payload = body + f"{crc16_ccitt_false(body.encode()):04X}"
    with pytest.raises(InvalidVietQr, match="length"):
        parse_vietqr(payload)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("97041", "123", None, None), "6 digits"),
        (("970415", "", None, None), "account"),
        (("970415", "12345678901234567890", None, None), "account"),
        (("970415", "123", 0, None), "positive"),
        (("970415", "123", 10**13, None), "13 digits"),
        (("970415", "123", 1, "Phí dịch vụ hồ sơ EB123456785VN"), "at most 25"),
        (("970415", "123", 1, "hồ sơ 😀"), "ASCII"),
    ],
)
def test_build_rejections_name_the_problem(
    args: tuple[str, str, int | None, str | None], message: str
) -> None:
    with pytest.raises(InvalidVietQr, match=message):
        build_vietqr(*args)


def test_parse_rejects_missing_merchant_account() -> None:
    body = "000201010211530370454046000" + "5802VN6304"
    payload = body + f"{crc16_ccitt_false(body.encode()):04X}"
    with pytest.raises(InvalidVietQr, match="field 38"):
        parse_vietqr(payload)
