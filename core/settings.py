"""One validated settings object for every process (web, worker, CLI).

Read from the environment (prefix ``HOSO_``, plus the conventional ``DATABASE_URL``) and an
optional ``.env`` file. Production refuses the development secret so a forgotten variable
cannot ship hashes and tokens keyed with a public value.
"""

from __future__ import annotations

import json
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"
MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOSO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    # The app's connection: a role that owns no table (see core.db). The owner's URL is for
    # migrations only (``hoso migrate``); both unset = the embedded server, which has both.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HOSO_DATABASE_URL")
    )
    database_owner_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_OWNER_URL", "HOSO_DATABASE_OWNER_URL"),
    )
    data_dir: Path = Path(".hoso-data")
    secret_key: str = DEV_SECRET

    # S10 service indicators. The D* range is reserved for domestic use (STANDARDS.md §1),
    # which is what these items are; operators may configure their own.
    dossier_service_indicator: str = "DH"
    result_service_indicator: str = "DR"
    public_base_url: str = "http://127.0.0.1:8000"
    # Load balancers / reverse proxies whose X-Forwarded-For is believed (comma-separated
    # addresses, or "*"). The client address limits failed sign-ins per address: behind an
    # untrusted proxy every courier would share the proxy's address and its limit.
    forwarded_allow_ips: str = "127.0.0.1"

    # -- watching it run (api/observability.py, docs/operations.md) -------------------------
    # "json": one JSON object a line (production); "console": readable lines (the demo);
    # "auto": json in production, console elsewhere.
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Who may read GET /metrics: client addresses (comma-separated, "*" = anyone) or a bearer
    # token (Authorization: Bearer <token>), either one suffices.
    metrics_allow_ips: str = "127.0.0.1,::1"
    metrics_token: str | None = None

    api_token_ttl_hours: int = 12
    delivery_max_attempts: int = 3
    # An agency dossier code dated more than this many days before the dossier reached the
    # office is refused as implausible (a mistyped year or another dossier's code).
    dossier_code_max_age_days: int = Field(default=30, ge=1, le=3650)

    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 5.0
    outbox_backoff_max_seconds: float = 3600.0
    # -- citizen message gateways (core/outbox/channels, docs/notifications.md) -------------
    # Console is the development default for every channel: nothing leaves the machine until
    # an operator configures a gateway.
    # SMS: "console" prints, "file" appends JSON lines, "webhook" posts our own unsigned JSON,
    # "http" talks to a brandname SMS provider described by the sms_http_* settings.
    sms_sender: Literal["console", "file", "webhook", "http"] = "console"
    # The "file" sender's log. Unset: sms.log in data_dir (``sms_log_path``).
    sms_file_path: Path | None = None
    sms_webhook_url: str | None = None
    sms_http_url: str | None = None
    sms_http_method: Literal["POST", "GET"] = "POST"
    # How the provider knows us: HTTP basic (username/password), "Authorization: Bearer
    # <token>", an API key in a header named sms_http_key_name, or the same as a body field.
    sms_http_auth: Literal["none", "basic", "bearer", "header", "field"] = "none"
    sms_http_username: str | None = None
    sms_http_password: str | None = None
    sms_http_token: str | None = None
    sms_http_key_name: str = "X-Api-Key"
    # The request body: a JSON object whose string values may hold {phone}, {text},
    # {brandname} and {request_id}; sent as JSON, as a form, or (GET) as the query string.
    sms_http_body_format: Literal["json", "form"] = "json"
    sms_http_body_template: str = (
        '{"phone": "{phone}", "text": "{text}", "brandname": "{brandname}", '
        '"request_id": "{request_id}"}'
    )
    sms_brandname: str = "BUUDIEN"
    # The phone as the provider wants it: "84" (84912345678), "+84" or "0" (0912345678).
    sms_phone_format: Literal["84", "+84", "0"] = "84"
    # Providers answer 200 with an error code in the body: a dotted path into the JSON answer
    # and the values meaning "accepted" (comma-separated). Empty path = any 2xx is success.
    sms_http_success_path: str = ""
    sms_http_success_values: str = "0"
    sms_http_message_id_path: str = ""
    sms_http_error_path: str = ""
    sms_http_timeout_s: float = Field(default=10.0, gt=0)
    # Email: "console" prints; "smtp" sends through smtp_host.
    email_sender: Literal["console", "smtp"] = "console"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    email_from: str = "Bưu điện <no-reply@example.vn>"
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    # A private CA's certificate (PEM) for a mail relay inside the province's network; unset =
    # the system's trusted CAs.
    smtp_ca_file: Path | None = None
    # Zalo ZNS template messages: "off" sends Zalo choices by SMS; "zns" calls the ZNS API.
    zalo_sender: Literal["off", "zns"] = "off"
    zalo_zns_url: str = "https://business.openapi.zalo.me/message/template"
    zalo_access_token: str | None = None
    # Our message kinds (docs/notifications.md) → approved ZNS template ids (JSON object).
    zalo_templates: dict[str, str] = Field(default_factory=dict)
    # A citizen without Zalo, a kind without a template, or a ZNS refusal goes by SMS instead
    # (else the message is retried and dead-lettered like any failure).
    zalo_fallback_to_sms: bool = True
    zalo_timeout_s: float = Field(default=10.0, gt=0)
    # -- end of citizen message gateways ----------------------------------------------------

    # Agency integration (core.agency): signed requests older or newer than this are refused.
    agency_signature_window_seconds: int = 300
    # The status-webhook dispatcher waits this long at a gap in event ids (a transaction that
    # may still commit) before deciding the id was rolled back; see core.agency.webhooks.
    agency_webhook_gap_grace_seconds: float = 30.0
    agency_webhook_timeout_seconds: float = 10.0
    # Status sync to the national public service portal (core.portal, docs/agency-api.md):
    # every change of a case's portal status is POSTed here through the outbox. Unset = off
    # (nothing is queued; ``hoso portal reconcile`` then reports every change as a gap).
    portal_sync_url: str | None = None
    # Sent as "Authorization: Bearer <token>" when set (the portal's integration credential).
    portal_sync_token: str | None = None
    portal_sync_timeout_seconds: float = Field(default=10.0, gt=0)
    # Citizens' booking (core/booking): price table (JSON, see docs/booking.md; built-in
    # defaults when unset), the fee-transfer charge, the VietQR receiving account, capacity.
    booking_price_table: Path | None = None
    booking_fee_transfer_vnd: int = 8000
    booking_stops_per_window: int = 6
    vietqr_bank_bin: str = "970449"
    vietqr_account: str = "1500201234567"
    vietqr_account_name: str = "BUU DIEN TINH BAC NINH"
    # -- dispatch (core/dispatch, docs/dispatch.md) ------------------------------------------
    # Default courier day, local time (Asia/Ho_Chi_Minh): shift, one break that must start in
    # [earliest, latest], and what a motorbike carries. Lunch is planned by default: PyVRP
    # models the break (a client per courier), so a courier may wait for it after a morning's
    # last stop and no feasible stop is left out for it (docs/dispatch.md); 0 = no break.
    dispatch_shift_start: time = time(7, 30)
    dispatch_shift_end: time = time(17, 30)
    dispatch_break_earliest: time = time(11, 30)
    dispatch_break_latest: time = time(13, 0)
    dispatch_break_minutes: int = Field(default=45, ge=0, le=180)
    dispatch_courier_capacity: int = Field(default=25, ge=1)
    # One-stop offices take and release items in office hours.
    dispatch_office_open: time = time(7, 30)
    dispatch_office_close: time = time(17, 0)
    # A dossier for an office farther than this from the post office is left at the post
    # office to travel on (bagged, by the hub's transport) instead of ridden there.
    dispatch_travel_on_km: float = Field(default=15.0, gt=0)
    # Seconds spent at each kind of stop (JSON object in the environment).
    dispatch_service_seconds: dict[str, int] = Field(
        default_factory=lambda: {
            "home_pickup": 300,
            "office_drop": 240,
            "office_pickup": 240,
            "home_delivery": 240,
            "post_office_drop": 120,
            "post_office_pickup": 120,
        }
    )
    # Multiplies every per-address limit of the public endpoints (api/ratelimit.py): a load
    # test or the API fuzz test calls them from one address far faster than any person.
    public_rate_limit_scale: float = Field(default=1.0, gt=0)
    # Planner budgets: a whole day from the button or CLI, and interactive changes (move,
    # insert a booking) that a dispatcher or citizen waits for.
    dispatch_time_limit_s: float = Field(default=5.0, gt=0)
    dispatch_interactive_time_limit_s: float = Field(default=0.3, gt=0)
    # Re-optimise today's unlocked stops every this many minutes (the worker; 0 = off): the
    # new routes are kept only when they serve more stops or save riding time.
    dispatch_reoptimise_minutes: int = Field(default=0, ge=0, le=24 * 60)
    # Pickup slots the booking page may offer, local "HH:MM-HH:MM" separated by commas.
    dispatch_booking_slots: str = "08:00-10:00,10:00-12:00,13:30-15:30,15:30-17:30"
    # Geocoder for addresses without a GPS pin: a geopy service name ("nominatim", ...); off
    # (None) by default because it needs the network. ``geocoder_domain`` points at a
    # self-hosted server.
    geocoder: str | None = None
    geocoder_domain: str | None = None
    geocoder_scheme: Literal["http", "https"] = "https"
    geocoder_user_agent: str = "hoso-dispatch"
    # Road router for travel times (OSRM /table or Valhalla /sources_to_targets); off = the
    # great-circle x detour / speed estimate.
    road_router: Literal["off", "osrm", "valhalla"] = "off"
    road_router_url: str | None = None
    road_router_timeout_s: float = Field(default=5.0, gt=0)
    # Map tiles on the dispatcher page, e.g. "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
    # unset = no tiles (routes and stops are vector layers and show without them).
    map_tile_url: str | None = None
    map_tile_attribution: str = "© OpenStreetMap contributors"

    # -- service quality (core/sla, docs/sla.md) ---------------------------------------------
    # Defaults of the targets; ``hoso sla target`` sets a province's or an office's own.
    # A pickup counts as on time up to this many minutes outside the booked window.
    sla_pickup_grace_minutes: int = Field(default=0, ge=0, le=240)
    # Hours from the pickup at the door to the desk's confirmation of the hand-over.
    sla_door_to_desk_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Days after the appointment date by which the result must be delivered.
    sla_result_days: int = Field(default=0, ge=0, le=30)
    # Minutes a desk hand-over may stay open (opened → completed): the desk's "waiting".
    sla_desk_handover_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Days a supervisor has to answer a citizen's complaint.
    sla_complaint_days: int = Field(default=10, ge=1, le=90)
    # The longest range a dashboard, export or report covers.
    sla_max_range_days: int = Field(default=3 * 366, ge=31)
    # Minutes a citizen may wait at the counter from taking a queue ticket to being called
    # (QĐ 468/QĐ-TTg: at most 30).
    sla_counter_wait_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Hours from collecting a case's state fees to handing them to the office.
    sla_fees_handover_hours: int = Field(default=24, ge=1, le=24 * 30)
    # -- signed checkpoints of the custody ledger (core/custody/checkpoints.py, docs/ledger.md)
    # The log's name, the first line of every signed head; also the signing key's name.
    ledger_origin: str = "hoso.local/custody-ledger"
    # The Ed25519 signing key, as "PRIVATE+KEY+<name>+<id>+<base64>" (``hoso ledger keygen``),
    # in the environment or in a file; never in the database. Neither set: a key derived from
    # secret_key (a fresh install signs from its first minute; configure a real key).
    ledger_signing_key: str | None = Field(default=None, repr=False)
    ledger_signing_key_file: Path | None = None
    # Keys heads may also be signed with ("<name>+<id>+<base64>", comma-separated): the old
    # keys after a rotation, so heads signed before it still verify.
    ledger_trusted_keys: str = ""
    # A head is signed at most this often while events arrive (and once each day after
    # midnight, Vietnam time, whatever arrived).
    ledger_checkpoint_interval_seconds: float = Field(default=60.0, ge=0)
    # Every head is appended here, one JSON line each, outside the database. Unset: in data_dir.
    ledger_heads_file: Path | None = None
    # -- server-signed ledger events (core/custody/server_signing.py, docs/ledger.md) ------
    # Every event is signed when it is recorded with this Ed25519 key, in the same format as
    # the checkpoint key (``hoso ledger keygen --name ...``), in the environment or in a file;
    # never in the database. A key of its own, not the checkpoint key: the web processes need
    # it, the checkpoint key stays with the worker. Neither set: a key derived from secret_key.
    event_signing_key: str | None = Field(default=None, repr=False)
    event_signing_key_file: Path | None = None
    # Old public keys ("<name>+<id>+<base64>", comma-separated) whose signatures verify still
    # accepts after a rotation.
    event_trusted_keys: str = ""

    @property
    def sms_log_path(self) -> Path:
        """Where the "file" SMS sender appends: ``sms_file_path``, else in ``data_dir``."""
        return self.sms_file_path or self.data_dir / "sms.log"

    @property
    def ledger_key_is_derived(self) -> bool:
        """Heads are signed with the key derived from secret_key: neither key setting is set."""
        return not self.ledger_signing_key and self.ledger_signing_key_file is None

    @property
    def event_key_is_derived(self) -> bool:
        """Events are signed with the key derived from secret_key: neither key setting is set."""
        return not self.event_signing_key and self.event_signing_key_file is None

    # -- digitised dossiers (core/digitising, docs/digitising.md) ------------------------------
    # The largest page photo accepted, in bytes (the phone sends ~0.3 MB JPEGs; a flatbed
    # scan at a counter can be larger); a bigger one is refused, nothing stored.
    digitise_max_page_bytes: int = Field(default=10 * MB, ge=64 * 1024, le=100 * MB)
    digitise_max_pages: int = Field(default=200, ge=1, le=2000)
    # Tesseract's languages for the text layer ("vie", "vie+eng"); empty: no text layer.
    digitise_ocr_languages: str = "vie"
    # Seconds an agency's download link stays valid.
    digitised_link_seconds: int = Field(default=300, ge=10, le=24 * 3600)
    # Days after the case closes before the copy (PDF and pages) is deleted.
    digitised_retention_days: int = Field(default=90, ge=0, le=3650)
    # Device-signed scans (docs/ledger.md): a phone that registered a key must sign every
    # scan. With this on, a phone without a key (an app from before device keys) is refused
    # too; turn it on once every phone runs an app that signs.
    device_signatures_required: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        # Every process refuses it, not only ``hoso serve``: a worker or a seed run keyed with
        # a public secret would mint tokens anyone can forge. core.ops.doctor lists it too.
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("HOSO_SECRET_KEY must be set to a private value in production")
        return self

    @model_validator(mode="after")
    def _service_indicators(self) -> Settings:
        for name in ("dossier_service_indicator", "result_service_indicator"):
            value = getattr(self, name)
            if len(value) != 2 or not value.isascii() or not value.isalpha() or not value.isupper():
                raise ValueError(f"{name} must be two capital letters, got {value!r}")
        return self

    @model_validator(mode="after")
    def _gateway_config(self) -> Settings:
        if self.sms_sender == "http" and not self.sms_http_url:
            raise ValueError("HOSO_SMS_HTTP_URL must be set when HOSO_SMS_SENDER=http")
        if self.email_sender == "smtp" and not self.smtp_host:
            raise ValueError("HOSO_SMTP_HOST must be set when HOSO_EMAIL_SENDER=smtp")
        if self.zalo_sender == "zns" and not self.zalo_access_token:
            raise ValueError("HOSO_ZALO_ACCESS_TOKEN must be set when HOSO_ZALO_SENDER=zns")
        try:
            template = json.loads(self.sms_http_body_template)
        except json.JSONDecodeError as exc:
            raise ValueError(f"HOSO_SMS_HTTP_BODY_TEMPLATE is not JSON: {exc}") from None
        if not isinstance(template, dict):
            raise ValueError("HOSO_SMS_HTTP_BODY_TEMPLATE must be a JSON object")
        return self

    @model_validator(mode="after")
    def _dispatch_config(self) -> Settings:
        if self.road_router != "off" and not self.road_router_url:
            raise ValueError("HOSO_ROAD_ROUTER_URL must be set when HOSO_ROAD_ROUTER is on")
        if not (self.dispatch_shift_start < self.dispatch_shift_end):
            raise ValueError("dispatch_shift_start must be before dispatch_shift_end")
        if not (self.dispatch_office_open < self.dispatch_office_close):
            raise ValueError("dispatch_office_open must be before dispatch_office_close")
        _ = self.booking_windows  # parsed here, so a bad value stops the app at start
        return self

    @property
    def booking_windows(self) -> list[tuple[time, time]]:
        """The pickup windows of a bookable day, local time: ``dispatch_booking_slots``
        parsed. The booking page and the dispatcher both read them here and only here."""
        windows = []
        for part in self.dispatch_booking_slots.split(","):
            start, _, end = part.strip().partition("-")
            try:
                lo, hi = time.fromisoformat(start.strip()), time.fromisoformat(end.strip())
            except ValueError:
                raise ValueError(
                    f"dispatch_booking_slots: {part.strip()!r} is not HH:MM-HH:MM"
                ) from None
            if lo >= hi:
                raise ValueError(f"dispatch_booking_slots: {part.strip()!r} ends before it starts")
            windows.append((lo, hi))
        return windows


@lru_cache
def get_settings() -> Settings:
    return Settings()
