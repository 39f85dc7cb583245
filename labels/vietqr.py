"""VietQR (NAPAS, EMVCo merchant-presented mode) payloads for bank transfers.

Only the "transfer to account/card" (QRIBFT) form is built; the parser reads any
EMVCo TLV payload and pulls out the VietQR fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labels.errors import InvalidVietQr
from labels.text import strip_diacritics

NAPAS_GUID = "A000000727"
_PURPOSE_MAX = 25
_ACCOUNT_MAX = 19


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise InvalidVietQr(f"field {tag} is {len(value)} characters; EMVCo allows at most 99")
    return f"{tag}{len(value):02d}{value}"


@dataclass(frozen=True, slots=True)
class VietQr:
    bank_bin: str
    account: str
    service: str | None
    """``QRIBFTTA`` (to account), ``QRIBFTTC`` (to card), or None for merchant codes."""
    dynamic: bool
    """Point of initiation 12 (one payment) rather than 11 (reusable)."""
    amount: int | None
    purpose: str | None
    currency: str
    country: str
    fields: dict[str, str] = field(default_factory=dict)
    """Every top-level TLV field as read, by tag, for anything not modelled above."""


def build_vietqr(
    bank_bin: str,
    account: str,
    amount: int | None,
    purpose: str | None,
    *,
    to_card: bool = False,
) -> str:
    """Build a VietQR transfer payload.

    A payload carrying an amount is marked dynamic (01=12): it is meant for one payment,
    and banking apps then lock the amount. The purpose is folded to ASCII because several
    banking apps mangle or reject non-ASCII text in field 62/08.
    """
    if len(bank_bin) != 6 or not bank_bin.isascii() or not bank_bin.isdigit():
        raise InvalidVietQr(f"bank BIN must be 6 digits, got {bank_bin!r}")
    if not account or len(account) > _ACCOUNT_MAX or not account.isascii() or not account.isalnum():
        raise InvalidVietQr(
            f"account must be 1-{_ACCOUNT_MAX} ASCII letters or digits, got {account!r}"
        )
    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    merchant = (
        _tlv("00", NAPAS_GUID)
        + _tlv("01", beneficiary)
        + _tlv("02", "QRIBFTTC" if to_card else "QRIBFTTA")
    )
    parts = [_tlv("00", "01"), _tlv("01", "11" if amount is None else "12"), _tlv("38", merchant)]
    parts.append(_tlv("53", "704"))
    if amount is not None:
        if amount <= 0:
            raise InvalidVietQr(f"amount must be a positive number of VND, got {amount}")
        if len(str(amount)) > 13:
            raise InvalidVietQr(f"amount {amount} is longer than 13 digits")
        parts.append(_tlv("54", str(amount)))
    parts.append(_tlv("58", "VN"))
    if purpose:
        ascii_purpose = " ".join(strip_diacritics(purpose).split())
        if not ascii_purpose.isascii() or not ascii_purpose.isprintable():
            raise InvalidVietQr(
                f"purpose has characters that cannot be written in ASCII: {purpose!r}"
            )
        if len(ascii_purpose) > _PURPOSE_MAX:
            raise InvalidVietQr(
                f"purpose must be at most {_PURPOSE_MAX} characters, "
                f"got {len(ascii_purpose)}: {ascii_purpose!r}"
            )
        parts.append(_tlv("62", _tlv("08", ascii_purpose)))
    body = "".join(parts) + "6304"
    return body + f"{crc16_ccitt_false(body.encode('utf-8')):04X}"


def _parse_tlv(data: str, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(data):
        if i + 4 > len(data):
            raise InvalidVietQr(f"{where}: truncated field header at position {i}")
        tag, length_text = data[i : i + 2], data[i + 2 : i + 4]
        if not (tag.isdigit() and length_text.isdigit()):
            raise InvalidVietQr(
                f"{where}: field header at position {i} must be 4 digits, got {tag + length_text!r}"
            )
        length = int(length_text)
        value = data[i + 4 : i + 4 + length]
        if len(value) != length:
            raise InvalidVietQr(
                f"{where}: field {tag} declares length {length} but only {len(value)} "
                f"characters remain"
            )
        if tag in out:
            raise InvalidVietQr(f"{where}: field {tag} appears twice")
        out[tag] = value
        i += 4 + length
    return out


def parse_vietqr(payload: str) -> VietQr:
    """Parse and verify a VietQR payload (CRC, TLV lengths, mandatory fields)."""
    p = payload.strip()
    if len(p) < 8 or p[-8:-4] != "6304":
        raise InvalidVietQr("payload must end with the CRC field 6304 and 4 hex digits")
    stated = p[-4:].upper()
    actual = f"{crc16_ccitt_false(p[:-4].encode('utf-8')):04X}"
    if stated != actual:
        raise InvalidVietQr(f"CRC should be {actual}, got {stated}")
    top = _parse_tlv(p, "payload")
    if top.get("00") != "01":
        raise InvalidVietQr(f"field 00 (payload format) must be '01', got {top.get('00')!r}")
    initiation = top.get("01", "11")
    if initiation not in ("11", "12"):
        raise InvalidVietQr(f"field 01 (initiation) must be 11 or 12, got {initiation!r}")
    if "38" not in top:
        raise InvalidVietQr("field 38 (NAPAS merchant account) is missing")
    merchant = _parse_tlv(top["38"], "field 38")
    if merchant.get("00") != NAPAS_GUID:
        raise InvalidVietQr(f"field 38/00 must be {NAPAS_GUID}, got {merchant.get('00')!r}")
    if "01" not in merchant:
        raise InvalidVietQr("field 38/01 (beneficiary: BIN and account) is missing")
    beneficiary = _parse_tlv(merchant["01"], "field 38/01")
    bank_bin = beneficiary.get("00", "")
    account = beneficiary.get("01", "")
    if len(bank_bin) != 6 or not bank_bin.isdigit():
        raise InvalidVietQr(f"field 38/01/00 (bank BIN) must be 6 digits, got {bank_bin!r}")
    if not account:
        raise InvalidVietQr("field 38/01/01 (account) is missing")
    amount: int | None = None
    if "54" in top:
        if not top["54"].isdigit():
            raise InvalidVietQr(f"field 54 (amount) must be whole VND digits, got {top['54']!r}")
        amount = int(top["54"])
    purpose: str | None = None
    if "62" in top:
        purpose = _parse_tlv(top["62"], "field 62").get("08")
    currency = top.get("53", "")
    if currency != "704":
        raise InvalidVietQr(f"field 53 (currency) must be 704 (VND), got {currency!r}")
    return VietQr(
        bank_bin=bank_bin,
        account=account,
        service=merchant.get("02"),
        dynamic=initiation == "12",
        amount=amount,
        purpose=purpose,
        currency=currency,
        country=top.get("58", ""),
        fields=top,
    )
