"""Vietnam's time zone: every time a person reads (a window, a receipt, a label, "today")
is in it. The one place it is made; core, the edges, routing and labels all import it here.

A fixed UTC+07:00 rather than ``ZoneInfo("Asia/Ho_Chi_Minh")``: Vietnam has kept +07:00
without daylight saving since 1975, and the fixed offset needs no tz database on the host.
"""

from __future__ import annotations

from datetime import timedelta, timezone

VN = timezone(timedelta(hours=7))

__all__ = ["VN"]
