"""Store and fetch evidence files by the SHA-256 of their bytes."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.media.models import MediaObject

# Signatures are drawn on a canvas (PNG or SVG); photos come from phone cameras (JPEG/WebP).
ALLOWED_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/svg+xml"})
MAX_BYTES = 5 * 1024 * 1024
# How every evidence reference is written: lowercase hex, as hashlib prints it.
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)
# The first bytes each allowed type must start with, so a mislabelled upload is refused.
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/webp": (b"RIFF",),
    "image/svg+xml": (b"<svg", b"<?xml"),
}


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.match(value) is not None


def validate_sha256(value: str, field: str = "sha256") -> str:
    value = value.strip().lower()
    if not _SHA256.match(value):
        raise InvalidInput("must be 64 lowercase hex digits (SHA-256)", field=field)
    return value


def store_media(
    session: Session,
    data: bytes,
    content_type: str,
    *,
    uploaded_by_user_id: int | None,
    expected_sha256: str | None = None,
) -> str:
    """Store ``data`` once and return its hash; storing the same bytes again is a no-op."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type not in ALLOWED_TYPES:
        allowed = ", ".join(sorted(ALLOWED_TYPES))
        raise InvalidInput(f"type {content_type!r} is not accepted ({allowed})", field="file")
    if not data:
        raise InvalidInput("the file is empty", field="file")
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", field="file")
    if not data.lstrip()[:8].startswith(_MAGIC[content_type]):
        raise InvalidInput(f"the bytes are not {content_type}", field="file")
    digest = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and validate_sha256(expected_sha256) != digest:
        raise InvalidInput("the bytes do not match the announced SHA-256", field="sha256")
    session.execute(
        insert(MediaObject)
        .values(
            sha256=digest,
            content_type=content_type,
            size_bytes=len(data),
            data=data,
            uploaded_by_user_id=uploaded_by_user_id,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return digest


def get_media(session: Session, sha256: str) -> MediaObject:
    media = session.get(MediaObject, validate_sha256(sha256))
    if media is None:
        raise NotFound("no file with this SHA-256 has been uploaded", field="sha256")
    return media


_PRESENT_SQL = text("SELECT sha256 FROM media_objects WHERE sha256 = ANY(:hashes)")


def missing_media(session: Session, hashes: list[str]) -> list[str]:
    """The hashes among ``hashes`` whose bytes have not arrived yet."""
    if not hashes:
        return []
    # One array parameter, so the statement text is the same for any number of hashes and
    # the driver prepares it once (an expanding IN list compiled anew on every scan sync).
    present = set(session.scalars(_PRESENT_SQL, {"hashes": hashes}))
    return [h for h in hashes if h not in present]
