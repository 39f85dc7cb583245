"""Evidence files (signatures, photos), stored once under the SHA-256 of their bytes.

Content addressing lets a phone upload a photo before or after the scan that names it: the
event carries the hash, and the hash alone says whether the bytes arrived and are intact.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class MediaObject(Base):
    __tablename__ = "media_objects"
    __table_args__ = (CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),)

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
