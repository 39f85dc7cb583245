from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.orm import Session

from core.errors import InvalidInput, NotFound
from core.media.service import MAX_BYTES, get_media, missing_media, store_media

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def test_stored_once_under_its_hash(db: Session) -> None:
    digest = store_media(db, PNG, "image/png", uploaded_by_user_id=None)
    assert digest == hashlib.sha256(PNG).hexdigest()
    assert store_media(db, PNG, "image/png; charset=binary", uploaded_by_user_id=None) == digest
    assert get_media(db, digest).data == PNG
    other = hashlib.sha256(b"not yet").hexdigest()
    assert missing_media(db, [digest, other]) == [other]


@pytest.mark.parametrize(
    ("data", "content_type", "expected"),
    [
        (PNG, "application/pdf", "not accepted"),
        (b"", "image/png", "empty"),
        (b"\xff\xd8\xff" + b"0" * MAX_BYTES, "image/jpeg", "larger"),
        (b"GIF89a....", "image/png", "not image/png"),
    ],
)
def test_refused_uploads_name_the_field(
    db: Session, data: bytes, content_type: str, expected: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        store_media(db, data, content_type, uploaded_by_user_id=None)
    assert caught.value.field == "file" and expected in caught.value.detail


def test_announced_hash_must_match(db: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        store_media(db, PNG, "image/png", uploaded_by_user_id=None, expected_sha256="0" * 64)
    assert caught.value.field == "sha256"
    with pytest.raises(NotFound):
        get_media(db, "a" * 64)
