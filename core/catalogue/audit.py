"""What a catalogue change leaves behind.

AUDIT HOOK: the user administration (core/admin) is building the append-only audit log. At
merge, this function should write one audit entry per applied import or edit through it
(who = ``actor_id``, what = ``kind`` and the keys created/updated, when = now, before/after
from ``changes``). Until then the change is logged, so nothing here is a second audit log.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("core.catalogue")


def record_catalogue_change(actor_id: int | None, kind: str, changes: list[dict[str, Any]]) -> None:
    log.info(
        "catalogue.imported",
        extra={"actor_id": actor_id, "kind": kind, "changed": [c["key"] for c in changes]},
    )
