"""SMS: printed, written to a file, posted to our own webhook, or sent through a brandname SMS
provider's HTTP API described entirely by settings (URL, method, auth, body template, how
to read its answer), because every Vietnamese provider has its own request shape and
answers HTTP 200 with an error code in the body.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import httpx

from core.outbox.channels.common import json_path, provider_phone, request_id, required
from core.outbox.service import PermanentFailure
from core.settings import Settings


class ProviderRefused(Exception):  # noqa: N818 - the provider's own word, retried
    """The provider answered but did not accept the message (its code and reason)."""


def send_sms(payload: Mapping[str, Any], settings: Settings) -> str | None:
    phone = required(payload, "phone")
    text = required(payload, "text")
    line = json.dumps({"phone": phone, "text": text}, ensure_ascii=False)
    match settings.sms_sender:
        case "console":
            print(f"[sms] {line}", file=sys.stderr)
        case "file":
            settings.sms_log_path.parent.mkdir(parents=True, exist_ok=True)
            with settings.sms_log_path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        case "webhook":
            if not settings.sms_webhook_url:
                raise PermanentFailure("HOSO_SMS_WEBHOOK_URL is not set")
            response = httpx.post(settings.sms_webhook_url, json=dict(payload), timeout=10.0)
            response.raise_for_status()
        case "http":
            return send_http_sms(settings, phone=phone, text=text, request=request_id(payload))
    return None


def render_body(template: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The body template with placeholders filled in its string values only, so a quote or
    newline in the citizen's text can never break the JSON or inject a field."""
    try:
        shape = json.loads(template)
    except json.JSONDecodeError as exc:
        raise PermanentFailure(f"HOSO_SMS_HTTP_BODY_TEMPLATE is not JSON: {exc}") from None
    if not isinstance(shape, dict):
        raise PermanentFailure("HOSO_SMS_HTTP_BODY_TEMPLATE must be a JSON object")

    def fill(node: Any) -> Any:
        if isinstance(node, str):
            for name, value in values.items():
                node = node.replace("{" + name + "}", value)
            return node
        if isinstance(node, dict):
            return {key: fill(value) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(value) for value in node]
        return node

    filled: dict[str, Any] = fill(shape)
    return filled


def send_http_sms(settings: Settings, *, phone: str, text: str, request: str) -> str | None:
    if not settings.sms_http_url:
        raise PermanentFailure("HOSO_SMS_HTTP_URL is not set")
    body = render_body(
        settings.sms_http_body_template,
        {
            "phone": provider_phone(phone, settings.sms_phone_format),
            "text": text,
            "brandname": settings.sms_brandname,
            "request_id": request,
        },
    )
    headers: dict[str, str] = {}
    auth: httpx.BasicAuth | None = None
    match settings.sms_http_auth:
        case "basic":
            user, password = settings.sms_http_username, settings.sms_http_password
            auth = httpx.BasicAuth(user or "", password or "")
        case "bearer":
            headers["Authorization"] = f"Bearer {settings.sms_http_token or ''}"
        case "header":
            headers[settings.sms_http_key_name] = settings.sms_http_token or ""
        case "field":
            body[settings.sms_http_key_name] = settings.sms_http_token or ""
    if settings.sms_http_method == "GET":
        flat = {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in body.items()
        }
        response = httpx.get(settings.sms_http_url, params=flat, headers=headers, auth=auth,
                             timeout=settings.sms_http_timeout_s)  # fmt: skip
    elif settings.sms_http_body_format == "form":
        response = httpx.post(settings.sms_http_url, data=body, headers=headers, auth=auth,
                              timeout=settings.sms_http_timeout_s)  # fmt: skip
    else:
        response = httpx.post(settings.sms_http_url, json=body, headers=headers, auth=auth,
                              timeout=settings.sms_http_timeout_s)  # fmt: skip
    response.raise_for_status()
    return read_answer(
        response,
        success_path=settings.sms_http_success_path,
        success_values=settings.sms_http_success_values,
        message_id_path=settings.sms_http_message_id_path,
        error_path=settings.sms_http_error_path,
    )


def read_answer(
    response: httpx.Response,
    *,
    success_path: str,
    success_values: str,
    message_id_path: str,
    error_path: str,
) -> str | None:
    """The provider's message id if it accepted the message; ProviderRefused (retried, then
    dead-lettered with this reason) if its answer says otherwise."""
    if not success_path and not message_id_path:
        return None
    try:
        answer = response.json()
    except ValueError:
        raise ProviderRefused(
            f"HTTP {response.status_code}, not JSON: {response.text[:200]}"
        ) from None
    if success_path:
        code = json_path(answer, success_path)
        accepted = {value.strip() for value in success_values.split(",")}
        if code is None or str(code) not in accepted:
            reason = json_path(answer, error_path) if error_path else None
            raise ProviderRefused(f"{success_path}={code!r}" + (f": {reason}" if reason else ""))
    found = json_path(answer, message_id_path) if message_id_path else None
    return str(found) if found is not None else None
