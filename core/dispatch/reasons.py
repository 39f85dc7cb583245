"""Why a stop is not in anyone's route, as a reason code with texts in both catalogues.

The planner (``routing``) explains in English sentences; the dispatcher reads Vietnamese. A
stop's ``unassigned_reason`` is stored as one of the codes below (``edge/texts`` has the
sentences), so the page never shows a planner's English or an empty reason.
"""

from __future__ import annotations

WAITING_FOR_PLAN = "dispatch.unassigned.waiting_for_plan"
NO_ROOM_BY_INSERTION = "dispatch.unassigned.no_room_by_insertion"
WINDOW_PASSED = "dispatch.unassigned.window_passed"
NOT_PLANNED = "dispatch.unassigned.not_planned"
OTHER = "dispatch.unassigned.other"
UNREACHABLE = "dispatch.unassigned.window_unreachable"

# Prefixes of routing.planner's sentences, and the code each one means.
_PLANNER_SENTENCES = (
    ("time window cannot be reached", UNREACHABLE),
    ("no room left", "dispatch.unassigned.no_room"),
    ("no courier has the required", "dispatch.unassigned.no_courier"),
    ("larger", "dispatch.unassigned.too_large"),
    ("not planned yet", NOT_PLANNED),
)

CODES = (
    WAITING_FOR_PLAN, NO_ROOM_BY_INSERTION, WINDOW_PASSED, NOT_PLANNED, OTHER,
    *(code for _, code in _PLANNER_SENTENCES),
)  # fmt: skip


def reason_code(reason: str | None) -> str:
    """The code for a stored reason: codes stay, planner sentences map, anything else is
    ``other`` (so a sentence the planner adds later still shows a Vietnamese text)."""
    if not reason:
        return NOT_PLANNED
    if reason in CODES:
        return reason
    for prefix, code in _PLANNER_SENTENCES:
        if reason.startswith(prefix):
            return code
    return OTHER
