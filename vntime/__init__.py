"""Vietnam's time zone: every time a person reads (a window, a receipt, a label, "today")
is in it. The one place it is made; core, the edges, routing and labels all import it here.

A fixed UTC+07:00 rather than ``ZoneInfo("Asia/Ho_Chi_Minh")``: Vietnam has kept +07:00
without daylight saving since 1975, and the fixed offset needs no tz database on the host.

The one way a time is written for a person is here too (``vn_time``, ``vn_date``,
``vn_datetime``, ``vn_stamp``): papers, pages (as Jinja filters, ``api.web``), SMS texts and
the CLI call them, so a time stored in UTC (every ``timestamptz`` reads back in UTC) can
never be printed as if it were local. Dates are dd/mm/yyyy, as Vietnamese papers write them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

VN = timezone(timedelta(hours=7))


def in_vietnam(moment: datetime) -> datetime:
    """``moment`` on Vietnam's clock. A naive datetime is refused: whose clock it was read
    from is unknown, and guessing is how 00:58 got printed for 07:58."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware datetime")
    return moment.astimezone(VN)


def vn_time(moment: datetime | None, empty: str = "") -> str:
    """``HH:MM`` in Vietnam."""
    return in_vietnam(moment).strftime("%H:%M") if moment is not None else empty


def vn_date(day: date | datetime | None, empty: str = "") -> str:
    """``dd/mm/yyyy``; a datetime is first put on Vietnam's clock, a date is taken as it is
    (an appointment date is a Vietnamese calendar day already)."""
    if day is None:
        return empty
    if isinstance(day, datetime):
        day = in_vietnam(day).date()
    return day.strftime("%d/%m/%Y")


def vn_datetime(moment: datetime | None, empty: str = "") -> str:
    """``HH:MM dd/mm/yyyy`` in Vietnam: the form pages and lists use."""
    return in_vietnam(moment).strftime("%H:%M %d/%m/%Y") if moment is not None else empty


def vn_stamp(moment: datetime) -> str:
    """``HH:MM, ngày dd/mm/yyyy`` in Vietnam: the form printed papers use."""
    return in_vietnam(moment).strftime("%H:%M, ngày %d/%m/%Y")


__all__ = ["VN", "in_vietnam", "vn_date", "vn_datetime", "vn_stamp", "vn_time"]
