"""How hoso's identifiers become the URIs an EPCIS 2.0 event carries (docs/epcis.md).

Postal items and bags carry UPU S10 identifiers, which are not GS1 keys, so no EPC URN or
GS1 Digital Link fits them; and offices, post offices and couriers have no GLN. They are
written as URNs in hoso's own namespace, built from values that do not depend on where hoso
runs (never the public base URL): an event's hash-based eventID is computed over these
URIs, and must come out the same on every server that exports the same ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

PREFIX = "urn:hoso"
# The JSON-LD prefix of hoso's own event fields (``hoso:kind``): what the @context maps it to.
EXTENSION_NAMESPACE = "urn:hoso:epcis:"


def _segment(value: str) -> str:
    # Codes come from catalogue imports: anything outside the unreserved set is encoded so the
    # URN stays one valid URI whatever an operator typed.
    return quote(value, safe="-._~")


def item_uri(code: str) -> str:
    return f"{PREFIX}:item:{_segment(code)}"


def bag_uri(code: str) -> str:
    return f"{PREFIX}:bag:{_segment(code)}"


class PartyNames:
    """The stable codes of the offices and post offices a page of events names, so that
    ``office:3`` (a row id, different in every database) is exported by its code."""

    def __init__(self, offices: Mapping[int, str], post_offices: Mapping[int, str]) -> None:
        self.offices = dict(offices)
        self.post_offices = dict(post_offices)

    def uri(self, party: str) -> str:
        """The URI of a ledger party string (``courier:12``, ``office:3``, ...)."""
        kind, _, ident = party.partition(":")
        if kind == "office" and ident.isdigit() and int(ident) in self.offices:
            return f"{PREFIX}:office:{_segment(self.offices[int(ident)])}"
        if kind == "post_office" and ident.isdigit() and int(ident) in self.post_offices:
            return f"{PREFIX}:post-office:{_segment(self.post_offices[int(ident)])}"
        # Couriers by account id (no name: a party URI is not the place for personal data);
        # a citizen by their case (``citizen:case-12``); the service itself ``agency:hoso``.
        return f"{PREFIX}:{_segment(kind.replace('_', '-'))}:{_segment(ident)}"

    def is_place(self, party: str | None) -> bool:
        return party is not None and party.partition(":")[0] in ("office", "post_office")


def geo_uri(lat: float, lon: float, accuracy_m: float | None) -> str:
    """RFC 5870 ``geo:`` URI; the phone's accuracy as its uncertainty (``u=``, metres)."""
    uri = f"geo:{lat:.6f},{lon:.6f}"
    if accuracy_m is not None and accuracy_m >= 0:
        uri += f";u={accuracy_m:.0f}"
    return uri
