from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from core.custody.service import ScanCommand
from vntime import VN


def scan(kind: str, code: str, **kw: Any) -> ScanCommand:
    kw.setdefault("client_event_id", uuid.uuid4())
    kw.setdefault("occurred_at", datetime.now(VN))
    return ScanCommand(kind=kind, code=code, **kw)


PICKUP_DETAILS = {"seal_number": "SEAL-001", "checklist": [{"doc": "Tờ khai", "present": True}]}
