"""Request and response shapes of the users administration API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_In):
    username: str = Field(max_length=64)
    full_name: str = Field(max_length=400)
    role: str
    password: str = Field(max_length=256)
    phone: str | None = None
    office_id: int | None = None
    post_office_id: int | None = None
    province_code: str | None = None
    must_change_password: bool = True


class UserUpdate(_In):
    """Only the fields sent are changed; a new role drops the old binding unless resent."""

    full_name: str | None = Field(default=None, max_length=400)
    phone: str | None = None
    role: str | None = None
    office_id: int | None = None
    post_office_id: int | None = None
    province_code: str | None = None


class PasswordReset(_In):
    """Leave ``temporary_password`` out to have one generated (it is answered once)."""

    temporary_password: str | None = Field(default=None, max_length=256)


class UserRead(BaseModel):
    id: int
    username: str
    full_name: str
    role: str
    phone: str | None
    office_id: int | None
    post_office_id: int | None
    province_code: str | None
    active: bool
    must_change_password: bool
    created_at: datetime
    updated_at: datetime | None


class PasswordResetRead(BaseModel):
    user: UserRead
    temporary_password: str | None = Field(
        description="Present only when the server generated it; hand it to the user."
    )


class DeviceRead(BaseModel):
    id: int
    name: str
    platform: str | None
    registered_at: datetime
    revoked_at: datetime | None


class AuditRead(BaseModel):
    id: int
    occurred_at: datetime
    actor_user_id: int | None
    actor_label: str
    action: str
    target_kind: str
    target_id: str | None
    target_label: str | None
    province_code: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
