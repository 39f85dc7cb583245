"""The outbox's handlers by topic, and the gateways they reach (for ``hoso doctor``).

Each channel lives in ``core.outbox.channels``; which gateway it uses is a setting, and
every one defaults to the console, so nothing calls out until an operator configures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.outbox.channels.mail import send_email
from core.outbox.channels.sms import send_sms
from core.outbox.channels.zalo import send_zalo
from core.outbox.service import CHANNEL_TOPICS, Handler
from core.settings import Settings

__all__ = ["GatewayEndpoint", "default_handlers", "gateway_endpoints", "send_sms"]


def default_handlers() -> dict[str, Handler]:
    """The outbox's own topics, one per channel. Domains that queue topics of their own (agency
    webhooks) are added by whoever runs the worker (``core.cli``), so the outbox imports no
    domain."""
    return {
        CHANNEL_TOPICS["sms"]: send_sms,
        CHANNEL_TOPICS["email"]: send_email,
        CHANNEL_TOPICS["zalo"]: send_zalo,
    }


@dataclass(frozen=True)
class GatewayEndpoint:
    """One configured gateway: which channel, the setting that names it, where it is."""

    channel: str
    setting: str
    url: str
    host: str
    port: int | None


def _endpoint(channel: str, setting: str, url: str) -> GatewayEndpoint:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return GatewayEndpoint(channel, setting, url, parts.hostname or "", parts.port or default)


def gateway_endpoints(settings: Settings) -> list[GatewayEndpoint]:
    """The network gateways the worker will call with these settings (none on the console
    defaults); a health check can resolve and connect to each ``host``/``port``."""
    found: list[GatewayEndpoint] = []
    if settings.sms_sender == "http" and settings.sms_http_url:
        found.append(_endpoint("sms", "HOSO_SMS_HTTP_URL", settings.sms_http_url))
    if settings.sms_sender == "webhook" and settings.sms_webhook_url:
        found.append(_endpoint("sms", "HOSO_SMS_WEBHOOK_URL", settings.sms_webhook_url))
    if settings.email_sender == "smtp" and settings.smtp_host:
        scheme = "smtps" if settings.smtp_security == "ssl" else "smtp"
        found.append(GatewayEndpoint("email", "HOSO_SMTP_HOST",
                                     f"{scheme}://{settings.smtp_host}:{settings.smtp_port}",
                                     settings.smtp_host, settings.smtp_port))  # fmt: skip
    if settings.zalo_sender == "zns":
        found.append(_endpoint("zalo", "HOSO_ZALO_ZNS_URL", settings.zalo_zns_url))
    return found
