"""Evidence uploads: content-addressed, limited, before or after the event naming them."""

from __future__ import annotations

import hashlib
import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from core.media.models import MediaObject
from core.media.service import MAX_BYTES
from core.settings import Settings
from tests.factories import dossier_of, make_case
from tests.mobile_api.helpers import COURIER_SIGNATURE, pickup_event, scans, signed_in


def _jpeg(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_upload_before_or_after_the_event(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, headers = signed_in(client, db)
    before, after = _jpeg("red"), _jpeg("blue")
    before_sha, after_sha = (hashlib.sha256(b).hexdigest() for b in (before, after))
    uploaded = client.put(
        f"/mobile/v1/media/{before_sha}",
        content=before,
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json() == {
        "sha256": before_sha,
        "content_type": "image/jpeg",
        "size_bytes": len(before),
    }

    item = dossier_of(db, make_case(db, settings))
    evidence = {"citizen_signature_sha256": before_sha, "courier_signature_sha256": after_sha}
    answer = scans(client, headers, pickup_event(item.code, evidence=evidence))
    assert answer["results"][0]["outcome"] == "accepted"
    assert answer["missing_media"] == [after_sha]
    ask = client.post(
        "/mobile/v1/media/missing",
        headers=headers,
        json={"sha256": [before_sha, after_sha, COURIER_SIGNATURE]},
    )
    assert ask.json()["missing"] == [after_sha, COURIER_SIGNATURE]

    late = client.put(
        f"/mobile/v1/media/{after_sha}",
        content=after,
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert late.status_code == 201
    again = client.put(
        f"/mobile/v1/media/{after_sha}",
        content=after,
        headers={**headers, "Content-Type": "image/jpeg"},
    )
    assert again.status_code == 201  # a retried upload is harmless
    ask = client.post(
        "/mobile/v1/media/missing", headers=headers, json={"sha256": [before_sha, after_sha]}
    )
    assert ask.json()["missing"] == []


def test_uploads_are_checked(client: TestClient, db: Session) -> None:
    _, headers = signed_in(client, db)
    photo = _jpeg("green")
    digest = hashlib.sha256(photo).hexdigest()

    def put(path_sha: str, data: bytes, content_type: str) -> tuple[int, str | None]:
        response = client.put(
            f"/mobile/v1/media/{path_sha}",
            content=data,
            headers={**headers, "Content-Type": content_type},
        )
        return response.status_code, response.json().get("field")

    assert put(hashlib.sha256(b"other").hexdigest(), photo, "image/jpeg") == (422, "sha256")
    assert put("not-a-hash", photo, "image/jpeg") == (422, "sha256")
    assert put(digest, photo, "text/plain") == (422, "file")
    assert put(digest, photo, "image/png") == (422, "file")  # the bytes are a JPEG
    huge = b"\xff\xd8\xff" + bytes(MAX_BYTES)
    assert put(hashlib.sha256(huge).hexdigest(), huge, "image/jpeg") == (422, "file")
    assert db.get(MediaObject, digest) is None
    assert client.put(f"/mobile/v1/media/{digest}", content=photo).status_code == 401
