"""Delivery handlers for outbox topics. Pluggable by settings; nothing calls out by default."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from core.outbox.service import Handler, PermanentFailure
from core.settings import Settings


def send_sms(payload: Mapping[str, Any], settings: Settings) -> None:
    phone = payload.get("phone")
    text = payload.get("text")
    if not phone or not text:
        raise PermanentFailure("an SMS needs a phone and a text")
    line = json.dumps({"phone": phone, "text": text}, ensure_ascii=False)
    match settings.sms_sender:
        case "console":
            print(f"[sms] {line}", file=sys.stderr)
        case "file":
            settings.sms_file_path.parent.mkdir(parents=True, exist_ok=True)
            with settings.sms_file_path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        case "webhook":
            if not settings.sms_webhook_url:
                raise PermanentFailure("HOSO_SMS_WEBHOOK_URL is not set")
            response = httpx.post(settings.sms_webhook_url, json=dict(payload), timeout=10.0)
            response.raise_for_status()


def default_handlers() -> dict[str, Handler]:
    """The outbox's own topics. Domains that queue topics of their own (agency webhooks) are
    added by whoever runs the worker (``core.cli``), so the outbox imports no domain."""
    return {"sms.send": send_sms}
