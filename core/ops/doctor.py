"""``hoso doctor``: every problem with a configuration, one line each, before it bites.

The doctor judges a configuration as production would run it: ``hoso serve`` and ``hoso
worker`` in production refuse to start on any ``fatal`` problem, with these same lines.

Each check is a small function ``(settings, probe) -> problems`` in CHECKS; a new setting
with a way to be wrong adds one function there (or, for a gateway URL, one entry in
GATEWAY_URLS). Messages are for a province's operators: Vietnamese first, then English,
both naming the environment variable to change.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import ValidationError, model_validator

from core.settings import DEV_SECRET, Settings

# The VietQR account in the shipped settings: a placeholder nobody's fees should go to.
PLACEHOLDER_VIETQR_ACCOUNT = "1500201234567"
MIN_SECRET_LENGTH = 32
CONNECT_TIMEOUT_S = 3.0


class Severity(StrEnum):
    fatal = "fatal"
    warning = "warning"


@dataclass(frozen=True)
class Problem:
    severity: Severity
    setting: str  # the environment variable to change
    vi: str
    en: str

    def line(self) -> str:
        label = "LỖI/FATAL" if self.severity is Severity.fatal else "CẢNH BÁO/WARNING"
        return f"[{label}] {self.setting}: {self.vi} / {self.en}"


def fatal(setting: str, vi: str, en: str) -> Problem:
    return Problem(Severity.fatal, setting, vi, en)


def warning(setting: str, vi: str, en: str) -> Problem:
    return Problem(Severity.warning, setting, vi, en)


@dataclass
class Probe:
    """What the checks may look at beyond the settings: the network and the database.
    ``offline`` keeps serve's start-up check from waiting on the network twice."""

    connect_timeout_s: float = CONNECT_TIMEOUT_S
    offline: bool = False
    database: dict[str, object] = field(default_factory=dict)


Check = Callable[[Settings, Probe], Iterable[Problem]]


# -- configuration only -------------------------------------------------------------------


def check_environment(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if settings.environment != "production":
        yield warning(
            "HOSO_ENVIRONMENT",
            f"đang là {settings.environment!r}, không phải 'production' "
            "(cookie không Secure, dành cho thử nghiệm)",
            f"is {settings.environment!r}, not 'production' (cookies not Secure; for trials)",
        )


def check_secret(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if settings.secret_key == DEV_SECRET:
        yield fatal(
            "HOSO_SECRET_KEY",
            "đang là khoá mặc định công khai; đặt một giá trị bí mật riêng",
            "is the public development default; set a private value",
        )
    elif len(settings.secret_key) < MIN_SECRET_LENGTH:
        yield warning(
            "HOSO_SECRET_KEY",
            f"ngắn hơn {MIN_SECRET_LENGTH} ký tự; dùng chuỗi ngẫu nhiên dài hơn",
            f"is shorter than {MIN_SECRET_LENGTH} characters; use a longer random value",
        )


# The ledger's two signing keys (docs/ledger.md): the setting, whether the key is derived
# from the secret, what it signs (vi, en), and how to make a key of its own.
SIGNING_KEYS: list[tuple[str, Callable[[Settings], bool], str, str, str]] = [
    ("HOSO_LEDGER_SIGNING_KEY", lambda s: s.ledger_key_is_derived,
     "checkpoint của sổ cái", "ledger checkpoints", "hoso ledger keygen"),
    ("HOSO_EVENT_SIGNING_KEY", lambda s: s.event_key_is_derived,
     "sự kiện sổ cái", "ledger events", "hoso ledger keygen --name <origin>/events"),
]  # fmt: skip


def check_signing_keys(settings: Settings, probe: Probe) -> Iterator[Problem]:
    # A warning, not fatal: the derived key signs correctly and a fresh install must sign
    # from its first minute; but the secret now guards the ledger's signatures too.
    if settings.environment != "production":
        return
    for setting, derived, what_vi, what_en, keygen in SIGNING_KEYS:
        if derived(settings):
            yield warning(
                setting,
                f"chưa đặt (cả {setting}_FILE): {what_vi} được ký bằng khoá suy ra từ "
                "HOSO_SECRET_KEY, nên ai lộ khoá bí mật của ứng dụng cũng giả được chữ ký "
                "sổ cái, và đổi HOSO_SECRET_KEY là đổi luôn khoá ký; tạo khoá riêng bằng "
                f"`{keygen}` (docs/ledger.md)",
                f"is unset (and {setting}_FILE): {what_en} are signed with a key derived from "
                "HOSO_SECRET_KEY, so a leaked app secret forges ledger signatures and changing "
                f"the secret changes the signing key; make a key of its own with `{keygen}` "
                "(docs/ledger.md)",
            )


def check_vietqr(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if settings.vietqr_account == PLACEHOLDER_VIETQR_ACCOUNT:
        yield fatal(
            "HOSO_VIETQR_ACCOUNT",
            "là số tài khoản mẫu; phí của công dân sẽ chuyển sai nơi",
            "is the sample account; citizens' fees would go to the wrong place",
        )


def check_sms(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if settings.sms_sender == "console":
        yield fatal(
            "HOSO_SMS_SENDER",
            "là 'console': mã đăng nhập chỉ in ra nhật ký, công dân không nhận được",
            "is 'console': sign-in codes only reach the log, never a citizen",
        )
    elif settings.sms_sender == "file":
        yield fatal(
            "HOSO_SMS_SENDER",
            "là 'file': tin nhắn chỉ ghi vào tệp, công dân không nhận được",
            "is 'file': messages are only written to a file, never to a citizen",
        )
    elif settings.sms_sender == "webhook" and not settings.sms_webhook_url:
        yield fatal(
            "HOSO_SMS_WEBHOOK_URL",
            "chưa đặt trong khi HOSO_SMS_SENDER=webhook",
            "is unset while HOSO_SMS_SENDER=webhook",
        )


def check_tls(settings: Settings, probe: Probe) -> Iterator[Problem]:
    # Production session cookies are Secure (api/web.py): a browser reaching hoso over plain
    # http:// drops them, and nobody can stay signed in.
    parts = urlsplit(settings.public_base_url)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if local:
        yield fatal(
            "HOSO_PUBLIC_BASE_URL",
            f"là {settings.public_base_url}: liên kết trong SMS và mã QR trên nhãn không mở được "
            "từ bên ngoài; đặt địa chỉ công khai https://",
            f"is {settings.public_base_url}: links in SMS and label QR codes cannot be opened "
            "by anyone else; set the public https:// address",
        )
    elif parts.scheme != "https":
        yield fatal(
            "HOSO_PUBLIC_BASE_URL",
            f"là {settings.public_base_url} (không TLS): trình duyệt bỏ cookie Secure, "
            "không ai đăng nhập được; đặt hoso sau HTTPS và dùng https://",
            f"is {settings.public_base_url} (no TLS): browsers drop the Secure session cookie "
            "and nobody can sign in; serve hoso behind HTTPS and use https://",
        )


def check_forwarded(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if settings.forwarded_allow_ips.strip() == "*":
        yield warning(
            "HOSO_FORWARDED_ALLOW_IPS",
            "là '*': ai cũng giả được địa chỉ, giới hạn đăng nhập sai theo địa chỉ vô hiệu",
            "is '*': anyone can claim any address, defeating per-address sign-in limits",
        )


def check_metrics(settings: Settings, probe: Probe) -> Iterator[Problem]:
    allowed = [a.strip() for a in settings.metrics_allow_ips.split(",") if a.strip()]
    if "*" in allowed and not settings.metrics_token:
        yield warning(
            "HOSO_METRICS_ALLOW_IPS",
            "là '*' và không có HOSO_METRICS_TOKEN: /metrics mở cho mọi người",
            "is '*' with no HOSO_METRICS_TOKEN: /metrics is open to everyone",
        )


# -- the database ---------------------------------------------------------------------------


def check_database(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if not settings.database_url:
        yield fatal(
            "DATABASE_URL",
            "chưa đặt: CSDL nhúng chỉ dành cho bản demo",
            "is unset: the embedded database is for the demo only",
        )
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import to_sqlalchemy_url
    from core.migrate import schema_is_current

    try:
        url = to_sqlalchemy_url(settings.database_url)
        engine = create_engine(url, connect_args={"connect_timeout": int(probe.connect_timeout_s)})
    except Exception as exc:  # noqa: BLE001  any malformed URL is one line, not a traceback
        yield fatal("DATABASE_URL", f"không dùng được: {exc}", f"is not usable: {exc}")
        return
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT r.rolsuper, "
                    "  (SELECT pg_get_userbyid(c.relowner) FROM pg_class c "
                    "   WHERE c.oid = to_regclass('public.custody_events')), "
                    "  current_user "
                    "FROM pg_roles r WHERE r.rolname = current_user"
                )
            ).one()
            superuser, ledger_owner, role = bool(row[0]), row[1], row[2]
            member_of_owner = bool(
                ledger_owner is not None
                and conn.execute(
                    text("SELECT pg_has_role(current_user, :owner, 'MEMBER')"),
                    {"owner": ledger_owner},
                ).scalar()
            )
    except SQLAlchemyError as exc:
        yield unreachable_database(exc)
        return
    finally:
        engine.dispose()
    probe.database.update(role=role, superuser=superuser, ledger_owner=ledger_owner)
    if superuser:
        yield fatal(
            "DATABASE_URL",
            f"vai trò {role!r} là superuser: có thể vô hiệu trigger bảo vệ sổ cái; "
            "dùng vai trò ứng dụng riêng (xem docs/operations.md)",
            f"role {role!r} is a superuser and could switch off the ledger's trigger; "
            "connect as the separate app role (see docs/operations.md)",
        )
    elif ledger_owner is not None and (ledger_owner == role or member_of_owner):
        yield fatal(
            "DATABASE_URL",
            f"vai trò {role!r} sở hữu sổ cái (custody_events): có thể tắt trigger; "
            "chạy ứng dụng bằng vai trò khác, di trú bằng DATABASE_OWNER_URL",
            f"role {role!r} owns the ledger (custody_events) and could disable its trigger; "
            "run the app as another role and migrate with DATABASE_OWNER_URL",
        )
    if ledger_owner is None or not schema_is_current(url):
        yield fatal(
            "DATABASE_OWNER_URL",
            "lược đồ CSDL chưa mới nhất; chạy `hoso migrate` với DATABASE_OWNER_URL",
            "the schema is not at the newest migration; run `hoso migrate` with DATABASE_OWNER_URL",
        )


def unreachable_database(exc: Exception) -> Problem:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    return fatal(
        "DATABASE_URL",
        f"không kết nối được CSDL: {reason}",
        f"cannot reach the database: {reason}",
    )


def no_embedded_database() -> Problem:
    return fatal(
        "DATABASE_URL",
        "chưa đặt, và bản này không có CSDL nhúng (pip install 'hoso[demo]')",
        "is unset, and this installation has no embedded PostgreSQL (pip install 'hoso[demo]')",
    )


# -- gateways ------------------------------------------------------------------------------

# (setting, whether it is fatal when unreachable, whether it is in use): one entry per
# gateway URL setting. An unreachable gateway that carries citizens' codes is fatal.
GATEWAY_URLS: list[tuple[str, Callable[[Settings], str | None], Callable[[Settings], bool]]] = [
    (
        "HOSO_SMS_WEBHOOK_URL",
        lambda s: s.sms_webhook_url,
        lambda s: s.sms_sender == "webhook",
    ),
    ("HOSO_SMS_HTTP_URL", lambda s: s.sms_http_url, lambda s: s.sms_sender == "http"),
    ("HOSO_ROAD_ROUTER_URL", lambda s: s.road_router_url, lambda s: False),
]


def reachable(url: str, timeout_s: float) -> str | None:
    """None when a TCP connection to the URL's host and port opens; else the reason."""
    parts = urlsplit(url)
    if not parts.hostname:
        return "no host in the URL"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_gateways(settings: Settings, probe: Probe) -> Iterator[Problem]:
    if probe.offline:
        return
    for setting, url_of, carries_codes in GATEWAY_URLS:
        url = url_of(settings)
        if not url:
            continue
        reason = reachable(url, probe.connect_timeout_s)
        if reason is None:
            continue
        make = fatal if carries_codes(settings) else warning
        yield make(
            setting,
            f"không kết nối được {url}: {reason}",
            f"cannot connect to {url}: {reason}",
        )


# Checks of the settings alone (no network, no database), then the ones that look outside.
CONFIG_CHECKS: list[Check] = [
    check_environment,
    check_secret,
    check_signing_keys,
    check_vietqr,
    check_sms,
    check_tls,
    check_forwarded,
    check_metrics,
]
CHECKS: list[Check] = [*CONFIG_CHECKS, check_database, check_gateways]


def diagnose(
    settings: Settings, probe: Probe | None = None, checks: list[Check] | None = None
) -> list[Problem]:
    probe = probe or Probe()
    problems = [problem for check in (checks or CHECKS) for problem in check(settings, probe)]
    return sorted(problems, key=lambda p: p.severity is not Severity.fatal)


# -- settings that do not even load ---------------------------------------------------------


def setting_errors(exc: ValidationError) -> list[Problem]:
    """One line per invalid setting, naming its environment variable, instead of pydantic's
    traceback."""
    problems = []
    for error in exc.errors():
        names = [str(part) for part in error.get("loc", ()) if isinstance(part, str)]
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        # A check across fields names its setting first: "HOSO_X must ..." or "field: ...".
        first = message.split(" ", 1)[0].rstrip(":")
        if names:
            setting = env_name(names[0])
        elif first.startswith("HOSO_") or first in Settings.model_fields:
            setting = env_name(first) if not first.startswith("HOSO_") else first
        else:
            setting = "HOSO_* (.env)"
        value = error.get("input")
        shown = f" (got {value!r})" if names and isinstance(value, str | int | float) else ""
        problems.append(
            fatal(setting, f"giá trị không hợp lệ: {message}{shown}", f"invalid: {message}{shown}")
        )
    return problems


def env_name(field_name: str) -> str:
    if field_name in ("database_url", "DATABASE_URL"):
        return "DATABASE_URL"
    if field_name in ("database_owner_url", "DATABASE_OWNER_URL"):
        return "DATABASE_OWNER_URL"
    return "HOSO_" + field_name.upper()


class _DoctorSettings(Settings):
    """The settings without the default-secret refusal, so that the doctor can list that
    problem next to all the others (check_secret) instead of stopping at it."""

    @model_validator(mode="after")  # type: ignore[misc]  # an override mypy cannot type
    def _refuse_default_secret(self) -> Settings:
        return self


def explain_invalid_settings(exc: ValidationError) -> list[Problem]:
    """Why the settings do not load, in the doctor's words where it has them: when only the
    production guard refused (the default secret), the doctor's fatal lines for the config."""
    loaded = load_settings_for_doctor()
    if isinstance(loaded, list):
        return loaded
    problems = diagnose(loaded, Probe(offline=True), CONFIG_CHECKS)
    named = [p for p in problems if p.severity is Severity.fatal and p.setting in str(exc)]
    return named or setting_errors(exc)


def load_settings_for_doctor() -> Settings | list[Problem]:
    """The settings, or the lines saying why they do not load."""
    try:
        return _DoctorSettings()
    except ValidationError as exc:
        return setting_errors(exc)
