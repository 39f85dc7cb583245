"""Phones bound to a courier: registration at sign-in, revocation by a dispatcher or admin.

A token is issued for one device. Revoking the device kills every token bound to it
(``holder_of_token`` refuses a token whose device is revoked) and a revoked install cannot
sign in again: a lost or stolen phone stays out until someone registers a new install.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.access import may_enter
from core.admin.errors import PasswordChangeRequired
from core.custody.device_signing import parse_public_key, register_key, revoke_keys
from core.errors import Forbidden, InvalidInput, NotFound
from core.identity.models import ApiToken, Device, User
from core.identity.service import IssuedToken, authenticate, issue_token
from core.places.models import PostOffice
from core.settings import Settings

# Who may sign in on a phone: couriers for their rounds, dispatchers for hub scans.
PLATFORMS = ("android", "ios", "web")


@dataclass(frozen=True)
class MobileSession:
    user: User
    device: Device
    token: IssuedToken
    key_id: str | None = None


def sign_in(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    install_id: str,
    device_name: str,
    platform: str,
    now: datetime,
    client_ip: str | None = None,
    public_key: str | None = None,
    key_algorithm: str | None = None,
) -> MobileSession:
    """Check the credentials, register (or reuse) the device, issue a token bound to it;
    register the phone's signing key with the device when it sends one."""
    if platform not in PLATFORMS:
        raise InvalidInput(f"platform must be one of {', '.join(PLATFORMS)}", field="platform")
    if public_key is not None:
        # Checked before anything is written: a bad key refuses the sign-in whole.
        parse_public_key(key_algorithm or "", public_key)
    user = authenticate(session, username, password, now=now, client_ip=client_ip)
    if not may_enter(user, "field"):
        raise Forbidden(
            "only couriers, dispatchers and counter clerks sign in on the courier app",
            field="username",
        )
    if user.must_change_password:
        raise PasswordChangeRequired()
    device = session.scalar(
        select(Device)
        .where(Device.user_id == user.id, Device.device_uid == install_id)
        .order_by(Device.id.desc())
        .limit(1)
    )
    if device is not None and device.revoked_at is not None:
        raise Forbidden(
            "this device was revoked; ask your dispatcher to register the phone again",
            field="install_id",
        )
    if device is None:
        device = Device(
            user_id=user.id,
            device_uid=install_id,
            name=device_name,
            platform=platform,
            registered_at=now,
        )
        session.add(device)
        session.flush()
    else:
        device.name, device.platform = device_name, platform
    token = issue_token(session, settings, user, now=now, device=device)
    key_id = None
    if public_key is not None:
        key_id = register_key(session, device.id, key_algorithm or "", public_key, now=now).key_id
    return MobileSession(user=user, device=device, token=token, key_id=key_id)


def devices_visible_to(session: Session, viewer: User) -> list[tuple[Device, User]]:
    """Devices a dispatcher (their post office's staff), a province supervisor (the staff of
    their province's post offices: to read; revoking is the admin area's) or an admin (all)
    may see."""
    query = select(Device, User).join(User, User.id == Device.user_id).order_by(Device.id)
    if viewer.role == "dispatcher":
        query = query.where(User.post_office_id == viewer.post_office_id)
    elif viewer.role == "province_supervisor":
        in_province = select(PostOffice.id).where(PostOffice.province_code == viewer.province_code)
        query = query.where(User.post_office_id.in_(in_province))
    elif viewer.role != "admin":
        query = query.where(User.id == viewer.id)
    return [(device, user) for device, user in session.execute(query)]


def revoke_device(session: Session, revoker: User, device_id: int, *, now: datetime) -> Device:
    """Revoke a phone and every token issued to it, at once."""
    row = session.execute(
        select(Device, User)
        .join(User, User.id == Device.user_id)
        .where(Device.id == device_id)
        .with_for_update(of=Device)
    ).first()
    if row is None:
        raise NotFound(f"no device {device_id}", field="device_id")
    device, owner = row
    if revoker.role == "dispatcher":
        if owner.post_office_id != revoker.post_office_id:
            raise Forbidden("this device belongs to another post office's staff", field="device_id")
    elif revoker.role != "admin":
        raise Forbidden("only a dispatcher or an admin can revoke a device", field="device_id")
    if device.revoked_at is None:
        device.revoked_at = now
    revoke_keys(session, device.id, now=now)
    session.execute(
        update(ApiToken)
        .where(ApiToken.device_id == device.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return device
