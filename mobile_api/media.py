"""Evidence files: uploaded by SHA-256, before or after the event that names them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from core.media.service import MAX_BYTES, missing_media, store_media, validate_sha256
from mobile_api.deps import FieldCaller, SessionDep, read_body
from mobile_api.schemas import MediaOut, MissingMediaOut

router = APIRouter(prefix="/mobile/v1", tags=["mobile"])


async def _body(request: Request) -> bytes:
    return await read_body(request, MAX_BYTES, field="file", what="the file")


@router.put(
    "/media/{sha256}",
    response_model=MediaOut,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/png", "image/jpeg", "image/webp", "image/svg+xml")
            },
        }
    },
)
def upload(
    sha256: str,
    caller: FieldCaller,
    session: SessionDep,
    data: Annotated[bytes, Depends(_body)],
    content_type: Annotated[str, Header()] = "",
) -> MediaOut:
    """Store a signature or photo under the SHA-256 of its bytes (PNG, JPEG, WebP or SVG,
    5 MB at most). The hash in the path must match the bytes. Uploading again is harmless."""
    expected = validate_sha256(sha256)
    digest = store_media(
        session, data, content_type, uploaded_by_user_id=caller.user.id, expected_sha256=expected
    )
    return MediaOut(
        sha256=digest, content_type=content_type.split(";")[0].strip().lower(), size_bytes=len(data)
    )


class MissingMediaIn(BaseModel):
    sha256: list[str] = Field(min_length=1, max_length=500)


@router.post("/media/missing", response_model=MissingMediaOut)
def missing(body: MissingMediaIn, caller: FieldCaller, session: SessionDep) -> MissingMediaOut:
    """Which of these hashes (the ones the phone put in its events) still need uploading."""
    hashes = [validate_sha256(h, field=f"sha256[{i}]") for i, h in enumerate(body.sha256)]
    return MissingMediaOut(missing=missing_media(session, hashes))


__all__ = ["router"]
