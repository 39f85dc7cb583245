"""Refusals that carry their Vietnamese text beside the English one.

Admin pages are read by province staff: a refusal shown there must be Vietnamese first. The
English ``detail`` stays what the JSON API and the CLI print; ``detail_vi`` is what pages show.
"""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidInput


class Bilingual:
    detail_vi: str


class AdminInvalidInput(InvalidInput, Bilingual):
    def __init__(self, field: str, vi: str, en: str) -> None:
        super().__init__(en, field=field)
        self.detail_vi = vi


class AdminForbidden(Forbidden, Bilingual):
    def __init__(self, field: str | None, vi: str, en: str) -> None:
        super().__init__(en, field=field)
        self.detail_vi = vi


class AdminConflict(Conflict, Bilingual):
    def __init__(self, field: str, vi: str, en: str) -> None:
        super().__init__(en, field=field)
        self.detail_vi = vi


class PasswordChangeRequired(Forbidden, Bilingual):
    """Sign-in refused until the temporary password an admin set has been replaced."""

    code = "password_change_required"

    def __init__(self) -> None:
        super().__init__(
            "your password was reset: set a new one first (POST /mobile/v1/auth/password, "
            "or sign in on the web at /login)",
            field="password",
        )
        self.detail_vi = "Mật khẩu của bạn vừa được đặt lại: hãy đặt mật khẩu mới trước."
