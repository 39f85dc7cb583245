"""Exemptions and reductions of the postal charges (TT 22/2017/TT-BTTTT sets the policy of
exemptions and reductions for carrying administrative dossiers and results; each province's
price decision names who qualifies and by how much).

A booking carries at most one exemption, with the legal basis printed on its quote and
receipts and the document the citizen shows (e.g. the number of the certificate). An
exemption reduces the postal charge and the fee-transfer charge only: the state fees
(phí, lệ phí) are the agency's, and their exemptions are the agency's to grant.

The table below is the default; the percentages follow the usual shape of the provinces'
decisions (full exemption for Heroic Mothers, half for people with meritorious services) and
must be checked against the province's own decision before going live.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InvalidInput


@dataclass(frozen=True)
class Exemption:
    code: str
    label_vi: str
    label_en: str
    legal_basis: str
    # Percent taken off each line it applies to (postage, fee_transfer).
    percent_off: dict[str, int]


EXEMPTIONS: dict[str, Exemption] = {
    e.code: e
    for e in (
        Exemption(
            "heroic_mother",
            "Bà mẹ Việt Nam anh hùng",
            "Vietnamese Heroic Mother",
            "TT 22/2017/TT-BTTTT (chính sách miễn, giảm giá cước); "
            "Pháp lệnh Ưu đãi người có công với cách mạng số 02/2020/UBTVQH14",
            {"postage": 100, "fee_transfer": 100},
        ),
        Exemption(
            "revolutionary_contributor",
            "Người có công với cách mạng",
            "Person with meritorious services to the revolution",
            "TT 22/2017/TT-BTTTT (chính sách miễn, giảm giá cước); "
            "Pháp lệnh Ưu đãi người có công với cách mạng số 02/2020/UBTVQH14",
            {"postage": 50, "fee_transfer": 50},
        ),
    )
}


def exemption_for(code: str | None) -> Exemption | None:
    if not code:
        return None
    found = EXEMPTIONS.get(code)
    if found is None:
        raise InvalidInput(f"must be one of {', '.join(EXEMPTIONS)}", field="exemption_code")
    return found


def reduction(exemption: Exemption, line: str, amount_vnd: int) -> int:
    """The đồng taken off ``amount_vnd`` of ``line`` (rounded down: never more than owed)."""
    return amount_vnd * exemption.percent_off.get(line, 0) // 100
