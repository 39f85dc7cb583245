"""One validated settings object for every process (web, worker, CLI).

Read from the environment (prefix ``HOSO_``, plus the conventional ``DATABASE_URL``) and an
optional ``.env`` file. Production refuses the development secret so a forgotten variable
cannot ship hashes and tokens keyed with a public value.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOSO_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HOSO_DATABASE_URL")
    )
    data_dir: Path = Path(".hoso-data")
    secret_key: str = DEV_SECRET

    # S10 service indicators. The D* range is reserved for domestic use (STANDARDS.md §1),
    # which is what these items are; operators may configure their own.
    dossier_service_indicator: str = "DH"
    result_service_indicator: str = "DR"
    public_base_url: str = "http://127.0.0.1:8000"

    api_token_ttl_hours: int = 12
    delivery_max_attempts: int = 3

    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 5.0
    outbox_backoff_max_seconds: float = 3600.0
    sms_sender: Literal["console", "file", "webhook"] = "console"
    sms_file_path: Path = Path(".hoso-data/sms.log")
    sms_webhook_url: str | None = None

    # Agency integration (core.agency): signed requests older or newer than this are refused.
    agency_signature_window_seconds: int = 300
    # The status-webhook dispatcher waits this long at a gap in event ids (a transaction that
    # may still commit) before deciding the id was rolled back; see core.agency.webhooks.
    agency_webhook_gap_grace_seconds: float = 30.0
    agency_webhook_timeout_seconds: float = 10.0
    # Citizens' booking (core/booking): price table (JSON, see docs/booking.md; built-in
    # defaults when unset), the fee-transfer charge, the VietQR receiving account, capacity.
    booking_price_table: Path | None = None
    booking_fee_transfer_vnd: int = 8000
    booking_stops_per_window: int = 6
    vietqr_bank_bin: str = "970449"
    vietqr_account: str = "1500201234567"
    vietqr_account_name: str = "BUU DIEN TINH BAC NINH"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("HOSO_SECRET_KEY must be set to a private value in production")
        for name in ("dossier_service_indicator", "result_service_indicator"):
            value = getattr(self, name)
            if len(value) != 2 or not value.isascii() or not value.isalpha() or not value.isupper():
                raise ValueError(f"{name} must be two capital letters, got {value!r}")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
