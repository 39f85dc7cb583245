"""Chip citizen ID (căn cước công dân, CCCD): number checks and the card's QR payload.

Number layout (Decree 137/2015 art. 13, Circular 07/2016/TT-BCA art. 7): digits 1-3 the
province where the birth was registered, digit 4 century and sex, digits 5-6 the last
two digits of the birth year, digits 7-12 random. The number is permanent, so the
province codes are the pre-2025 table of 63 provinces even after the 2025 mergers.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from typing import Literal

from labels.errors import InvalidCccd

Sex = Literal["male", "female"]

# Appendix 1 of Circular 07/2016/TT-BCA: birth-registration province codes.
BIRTH_PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}


@dataclass(frozen=True, slots=True)
class CccdInfo:
    number: str
    birth_province_code: str
    birth_province: str
    sex: Sex
    birth_year: int


@dataclass(frozen=True, slots=True)
class CccdQr:
    id: str
    old_id: str | None
    name: str
    dob: dt.date
    dob_precision: Literal["day", "month", "year"]
    """Some cards carry only mmyyyy or yyyy; then ``dob`` is the 1st of that month/year."""
    sex: Sex
    address: str
    issue_date: dt.date
    issue_date_precision: Literal["day", "month", "year"]


_SEX_WORDS: dict[str, Sex] = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "nữ": "female",
    "nu": "female",
    "female": "female",
    "f": "female",
}


def _parse_sex(value: str, field: str) -> Sex:
    key = unicodedata.normalize("NFC", value.strip()).lower()
    try:
        return _SEX_WORDS[key]
    except KeyError:
        raise InvalidCccd(f"{field} must be 'Nam' or 'Nữ', got {value!r}") from None


def validate_cccd(
    number: str, *, sex: str | None = None, birth_year: int | None = None
) -> CccdInfo:
    """Check a 12-digit CCCD number, and its agreement with a known sex and birth year."""
    n = "".join(number.split())
    if len(n) != 12 or not n.isascii() or not n.isdigit():
        raise InvalidCccd(f"CCCD number must be exactly 12 digits, got {len(n)} characters")
    province_code = n[:3]
    province = BIRTH_PROVINCES.get(province_code)
    if province is None:
        raise InvalidCccd(
            f"digits 1-3 of the CCCD number ({province_code}) are not a birth-province "
            f"code of Circular 07/2016/TT-BCA"
        )
    century_sex = int(n[3])
    id_sex: Sex = "male" if century_sex % 2 == 0 else "female"
    year = 1900 + (century_sex // 2) * 100 + int(n[4:6])
    if year > dt.date.today().year:
        raise InvalidCccd(
            f"digits 4-6 of the CCCD number ({n[3:6]}) give birth year {year}, "
            f"which is in the future"
        )
    if sex is not None:
        given = _parse_sex(sex, "sex")
        if given != id_sex:
            raise InvalidCccd(
                f"digit 4 of the CCCD number ({n[3]}) means {id_sex}, but sex is given as {sex!r}"
            )
    if birth_year is not None and birth_year != year:
        raise InvalidCccd(
            f"digits 4-6 of the CCCD number ({n[3:6]}) mean birth year {year}, "
            f"but birth year is given as {birth_year}"
        )
    return CccdInfo(
        number=n,
        birth_province_code=province_code,
        birth_province=province,
        sex=id_sex,
        birth_year=year,
    )


def mask_cccd(number: str) -> str:
    """Show only the last 4 digits, as public pages and printed records may."""
    n = "".join(number.split())
    return "*" * max(len(n) - 4, 0) + n[-4:]


def _parse_card_date(value: str, field: str) -> tuple[dt.date, Literal["day", "month", "year"]]:
    v = value.strip()
    if not v.isascii() or not v.isdigit() or len(v) not in (4, 6, 8):
        raise InvalidCccd(f"{field} must be ddmmyyyy, mmyyyy or yyyy digits, got {value!r}")
    try:
        if len(v) == 8:
            return dt.date(int(v[4:]), int(v[2:4]), int(v[:2])), "day"
        if len(v) == 6:
            return dt.date(int(v[2:]), int(v[:2]), 1), "month"
        return dt.date(int(v), 1, 1), "year"
    except ValueError as exc:
        raise InvalidCccd(f"{field} {value!r} is not a real date: {exc}") from None


def parse_cccd_qr(payload: str) -> CccdQr:
    """Parse the text of the QR code on the back of a chip ID card.

    Two layouts are in circulation: 7 fields ``id|old id|name|dob|sex|address|issue``
    (old id possibly empty) and 6 fields without the old id. They are told apart by the
    field count only, since no official specification of the payload is published.
    """
    text = unicodedata.normalize("NFC", payload.strip().lstrip("\ufeff"))
    fields = text.split("|")
    if len(fields) == 7:
        number, old_id, name, dob, sex, address, issued = fields
    elif len(fields) == 6:
        number, name, dob, sex, address, issued = fields
        old_id = ""
    else:
        raise InvalidCccd(
            f"CCCD QR must have 7 fields (with old ID) or 6 fields (without) separated by "
            f"'|', got {len(fields)}"
        )
    old = old_id.strip()
    if old and (not old.isascii() or not old.isdigit() or len(old) not in (9, 12)):
        raise InvalidCccd(f"old ID number in the QR must be 9 or 12 digits, got {old!r}")
    if not name.strip():
        raise InvalidCccd("name in the CCCD QR is empty")
    dob_date, dob_precision = _parse_card_date(dob, "date of birth")
    issue_date, issue_precision = _parse_card_date(issued, "issue date")
    parsed_sex = _parse_sex(sex, "sex in the CCCD QR")
    if issue_date < dob_date:
        raise InvalidCccd(f"issue date {issued} is before the date of birth {dob}")
    info = validate_cccd(number, sex=parsed_sex, birth_year=dob_date.year)
    return CccdQr(
        id=info.number,
        old_id=old or None,
        name=name.strip(),
        dob=dob_date,
        dob_precision=dob_precision,
        sex=parsed_sex,
        address=address.strip(),
        issue_date=issue_date,
        issue_date_precision=issue_precision,
    )
