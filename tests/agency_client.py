"""Signing requests as an agency system does, for tests."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from core.agency.service import IssuedKey
from core.agency.signing import sign_request


def signed_post(
    client: TestClient,
    key: IssuedKey,
    path: str,
    body: dict[str, Any],
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    secret: str | None = None,
) -> Response:
    data = json.dumps(body).encode()
    headers = sign_request(key.key_id, secret or key.secret, "POST", path, data,
                           timestamp=timestamp or int(time.time()), nonce=nonce)  # fmt: skip
    response: Response = client.post(
        path, content=data, headers={**headers.as_dict(), "Content-Type": "application/json"}
    )
    return response


def signed_get(client: TestClient, key: IssuedKey, path: str) -> Response:
    headers = sign_request(key.key_id, key.secret, "GET", path, b"", timestamp=int(time.time()))
    response: Response = client.get(path, headers=headers.as_dict())
    return response
