"""Agency dossier code (mã hồ sơ), Circular 01/2018/TT-VPCP art. 19.

Shape ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``: the agency identifier (QCVN 102:2016),
the date the agency received the dossier, and a 4-digit sequence within that day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from labels.errors import InvalidDossierCode

_SHAPE = re.compile(
    r"^(?P<v>[0-9A-Z]{3})\.(?P<z>[0-9A-Z]{2})\.(?P<y>[0-9A-Z]{2})\.(?P<m>[A-Z][0-9]{2})"
    r"-(?P<date>[0-9]{6})-(?P<seq>[0-9]{4})$"
)
_AGENCY = re.compile(r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}$")


@dataclass(frozen=True, slots=True)
class DossierCode:
    code: str
    """The normalised full code."""
    agency: str
    """Agency identifier prefix, e.g. ``000.A0.01.H26``."""
    province_agency: str
    """Last group of the prefix, e.g. ``H26`` (Hà Nội)."""
    received_on: dt.date
    sequence: int


def validate_dossier_code(raw: str) -> DossierCode:
    """Parse an agency dossier code, or raise InvalidDossierCode naming the problem."""
    code = "".join(raw.split()).upper()
    m = _SHAPE.match(code)
    if m is None:
        parts = code.split("-")
        if len(parts) != 3:
            raise InvalidDossierCode(
                f"dossier code must have 3 parts separated by '-' "
                f"(agency-YYMMDD-XXXX), got {len(parts)} in {raw!r}"
            )
        agency, date_part, seq = parts
        if not _AGENCY.match(agency):
            raise InvalidDossierCode(
                f"agency prefix must look like 000.A0.01.H26 "
                f"(3.2.2 letters/digits, then a letter and 2 digits), got {agency!r}"
            )
        if not (len(date_part) == 6 and date_part.isascii() and date_part.isdigit()):
            raise InvalidDossierCode(f"received date must be 6 digits YYMMDD, got {date_part!r}")
        raise InvalidDossierCode(f"sequence must be 4 digits, got {seq!r}")
    date_part = m.group("date")
    yy, mm, dd = int(date_part[:2]), int(date_part[2:4]), int(date_part[4:])
    try:
        # The format dates from 2018; two-digit years are this century.
        received = dt.date(2000 + yy, mm, dd)
    except ValueError as exc:
        raise InvalidDossierCode(
            f"received date {date_part} (YYMMDD) is not a real date: {exc}"
        ) from None
    agency = f"{m.group('v')}.{m.group('z')}.{m.group('y')}.{m.group('m')}"
    return DossierCode(
        code=code,
        agency=agency,
        province_agency=m.group("m"),
        received_on=received,
        sequence=int(m.group("seq")),
    )
