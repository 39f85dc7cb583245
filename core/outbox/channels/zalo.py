"""Zalo ZNS template messages (Zalo Notification Service).

ZNS sends only templates Zalo has approved, filled with named parameters: each of our
message kinds maps to a template id in settings (``HOSO_ZALO_TEMPLATES``). The request is
``POST {zalo_zns_url}`` with an ``access_token`` header and ``{phone, template_id,
template_data, tracking_id}``; Zalo answers ``{"error": 0, "data": {"msg_id": ...}}`` or a
non-zero error (no Zalo account, template not approved, quota...). ``tracking_id`` is our
request id, the same on every retry.

When Zalo cannot carry a message (ZNS off, no template for the kind, or Zalo refuses it) it
goes by SMS instead, if ``zalo_fallback_to_sms``: the citizen must hear either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from core.outbox.channels.common import json_path, provider_phone, request_id, required
from core.outbox.channels.sms import ProviderRefused
from core.outbox.service import CHANNEL_TOPICS, PermanentFailure, Reroute
from core.settings import Settings


def _by_sms(reason: str, payload: Mapping[str, Any]) -> Reroute:
    return Reroute(f"{reason}; sent by SMS instead", CHANNEL_TOPICS["sms"], payload)


def send_zalo(payload: Mapping[str, Any], settings: Settings) -> str | None:
    phone = required(payload, "phone")
    kind = str(payload.get("kind") or "")
    if settings.zalo_sender == "off":
        # Not a refusal: the operator has no Zalo account, so SMS is the only way.
        raise _by_sms("Zalo ZNS is not configured", payload)
    template_id = settings.zalo_templates.get(kind)
    if not template_id:
        reason = f"no ZNS template for the message kind {kind!r}"
        if settings.zalo_fallback_to_sms:
            raise _by_sms(reason, payload)
        raise PermanentFailure(reason)
    params = payload.get("params")
    template_data = (
        {key: str(value) for key, value in params.items()} if isinstance(params, Mapping) else {}
    )
    response = httpx.post(
        settings.zalo_zns_url,
        headers={"access_token": settings.zalo_access_token or ""},
        json={
            "phone": provider_phone(phone, "84"),
            "template_id": template_id,
            "template_data": template_data,
            "tracking_id": request_id(payload),
        },
        timeout=settings.zalo_timeout_s,
    )
    response.raise_for_status()
    try:
        answer = response.json()
    except ValueError:
        raise ProviderRefused(f"ZNS answered HTTP {response.status_code}, not JSON") from None
    error = json_path(answer, "error")
    if error == 0:
        found = json_path(answer, "data.msg_id")
        return str(found) if found is not None else None
    reason = f"ZNS error {error}: {json_path(answer, 'message') or ''}".strip()
    if settings.zalo_fallback_to_sms:
        raise _by_sms(reason, payload)
    raise ProviderRefused(reason)
