"""Who may read and change the catalogue: the one place that decides, for pages, API and CLI.

An admin manages every province and the national procedure list. A province supervisor
(the role the user administration adds) manages the offices, post offices and price tiers of
their own province only, and reads the procedures; everyone else is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.access import may_enter
from core.errors import Forbidden
from core.identity.models import User

SUPERVISOR_ROLE = "province_supervisor"
# Procedures are one national catalogue: no province owns a row, so only an admin edits it.
NATIONAL_KINDS = frozenset({"procedures"})


@dataclass(frozen=True)
class CatalogueScope:
    """What one person may touch. ``provinces`` None means every province."""

    provinces: frozenset[str] | None
    edits_national: bool

    def may_manage(self, province_code: str) -> bool:
        return self.provinces is None or province_code in self.provinces

    def may_edit(self, kind: str) -> bool:
        return self.edits_national or kind not in NATIONAL_KINDS

    @classmethod
    def everything(cls) -> CatalogueScope:
        """The command line's scope: whoever runs ``hoso`` on the server administers it."""
        return cls(provinces=None, edits_national=True)


def catalogue_scope(user: User) -> CatalogueScope:
    if not user.active:
        raise Forbidden("this account is deactivated", field="role")
    # Who enters the admin area at all is core.access's "administer" row; this module only
    # decides how far each role reaches inside the catalogue.
    if not may_enter(user, "administer"):
        raise Forbidden("the catalogue is administered by an admin or a province supervisor",
                        field="role")  # fmt: skip
    if user.role == "admin":
        return CatalogueScope.everything()
    if user.role == SUPERVISOR_ROLE and user.province_code:
        return CatalogueScope(provinces=frozenset({user.province_code}), edits_national=False)
    raise Forbidden("the catalogue is administered by an admin or a province supervisor",
                    field="role")  # fmt: skip


def ensure_may_edit(scope: CatalogueScope, kind: str) -> None:
    if not scope.may_edit(kind):
        raise Forbidden(f"only an admin changes the {kind} catalogue", field="kind")
