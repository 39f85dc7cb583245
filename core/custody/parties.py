"""Parties that can hold an item, written as short stable strings (``courier:12``).

They are rendered as URNs (``urn:hoso:party:courier:12``) in EPCIS output. Keeping one
string form in the ledger makes the hash chain independent of how we present it.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTY_KINDS = ("citizen", "courier", "office", "post_office", "admin", "agency")


def party(kind: str, ident: int | str) -> str:
    if kind not in PARTY_KINDS:
        raise ValueError(f"unknown party kind {kind!r}")
    return f"{kind}:{ident}"


def party_kind(value: str) -> str:
    return value.split(":", 1)[0]


def party_urn(value: str) -> str:
    return f"urn:hoso:party:{value}"


@dataclass(frozen=True)
class Actor:
    """Who is acting, in which role, from which device, on behalf of which party."""

    user_id: int | None
    role: str
    party: str
    device_id: int | None = None
    # A courier's or dispatcher's post office: unassigned work is theirs only within it.
    post_office_id: int | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, role="system", party="agency:hoso")


def citizen_party(case_id: int) -> str:
    """The citizen named on a case: who hands the dossier over and receives the result."""
    return party("citizen", f"case-{case_id}")
