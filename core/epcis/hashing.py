"""The CBV 2.0 event hash (``ni:///sha-256;…?ver=CBV2.0``): an EPCIS eventID computed from
the event's content, so that anyone holding an exported event can recompute its identifier.

This is the algorithm of GS1's reference implementation (RalphTro/epcis-event-hash-generator,
PyPI ``epcis-event-hash-generator`` 1.9.3) for the fields hoso exports: the properties in the
canonical order, each ``name=value``; list members sorted; times in UTC to the millisecond
with ``Z``; bare CBV values expanded to their web vocabulary URIs; then every remaining field
(source and destination lists, extension fields as ``{namespace}name``) sorted, and the
whole joined with no separator. ``tests/core/epcis`` recomputes our IDs with the reference
package itself on a whole demo day, so a difference in any field shows up there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.epcis.uris import EXTENSION_NAMESPACE

# The canonical order (the reference's PROP_ORDER), for the properties hoso's events carry.
_ORDER = ("eventTime", "eventTimeZoneOffset", "parentID", "epcList", "childEPCs", "action",
          "bizStep", "disposition", "readPoint", "bizLocation")  # fmt: skip
# Never part of the hash: the ID itself, when it was recorded, and a later declaration.
_IGNORED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context"})
_WEB_VOCABULARY = {
    "bizStep": "https://ref.gs1.org/cbv/BizStep-",
    "disposition": "https://ref.gs1.org/cbv/Disp-",
    "type": "https://ref.gs1.org/cbv/SDT-",
}


def utc_millis(moment: datetime) -> str:
    """``2026-12-03T01:04:05.123Z``: the form both the hash and the export write times in."""
    utc = moment.astimezone(UTC)
    return (
        utc.replace(microsecond=utc.microsecond // 1000 * 1000, tzinfo=None).isoformat(
            timespec="milliseconds"
        )
        + "Z"
    )


def _vocabulary(field: str, value: str) -> str:
    # A bare CBV word ("accepting") is short for its web URI; a full URI stays as it is.
    if ":" in value:
        return value
    return _WEB_VOCABULARY[field] + value


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        return str(int(number)) if number.is_integer() else str(number)
    return str(value).strip()


def pre_hash_string(event: Mapping[str, Any]) -> str:
    """The canonical text the hash is taken over (useful to see why two IDs differ)."""
    parts = [f"eventType={event['type']}"]
    for name in _ORDER:
        if name not in event:
            continue
        value = event[name]
        if name in ("epcList", "childEPCs"):
            members = sorted(f"epc={_scalar(epc)}" for epc in value)
            if members:
                parts.append(name + "".join(members))
        elif name in ("readPoint", "bizLocation"):
            parts.append(f"{name}id={_scalar(value['id'])}")
        elif name in ("bizStep", "disposition"):
            parts.append(f"{name}={_vocabulary(name, str(value))}")
        elif name == "eventTime":
            parts.append(f"eventTime={utc_millis(datetime.fromisoformat(str(value)))}")
        else:
            parts.append(f"{name}={_scalar(value)}")
    rest: list[str] = []
    for name, value in event.items():
        if name in _IGNORED or name in _ORDER:
            continue
        if name in ("sourceList", "destinationList"):
            key = "source" if name == "sourceList" else "destination"
            for entry in value:
                kind = _vocabulary("type", str(entry["type"]))
                rest.append(f"{name}type={kind}{key}={_scalar(entry[key])}")
        elif name.startswith("hoso:"):
            rest.append(f"{{{EXTENSION_NAMESPACE}}}{name[5:]}={_scalar(value)}")
        else:
            raise ValueError(f"the event hash does not know the field {name!r}")
    return "".join(parts) + "".join(sorted(rest))


def event_hash_id(event: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(pre_hash_string(event).encode("utf-8")).hexdigest()
    return f"ni:///sha-256;{digest}?ver=CBV2.0"
