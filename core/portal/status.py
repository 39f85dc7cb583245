"""hoso's statuses in the national public service portal's dossier-status vocabulary."""

from __future__ import annotations

# hoso status -> the national public service portal's dossier status (code, Vietnamese name).
# docs/agency-api.md prints this table and says why; a test keeps the two the same. None: the
# portal has no status for it (the event is still sent, for the agency to act on).
#
# Only the postal stages are hoso's to report. "Được tiếp nhận" (2) and "Không được tiếp nhận"
# (3) are the agency's decisions on the dossier: a desk officer's scan confirms that the
# envelope arrived, not that the dossier was accepted, and a courier who finds a dossier
# incomplete at the door has taken nothing for the agency to refuse. Until the agency records
# its dossier code (core.portal: then 2) the dossier stays "Mới đăng ký" through every postal
# stage, hand-over included.
PORTAL_STATUS: dict[str, tuple[int, str] | None] = {
    "booked": (1, "Mới đăng ký"),
    "picked_up": (1, "Mới đăng ký"),
    "at_post_office": (1, "Mới đăng ký"),
    "in_transit": (1, "Mới đăng ký"),
    "arrived": (1, "Mới đăng ký"),
    "refused": (1, "Mới đăng ký"),
    "cancelled": (7, "Công dân yêu cầu rút hồ sơ"),
    "handed_over": (1, "Mới đăng ký"),
    "result_registered": (9, "Đã xử lý xong"),
    "collected": (9, "Đã xử lý xong"),
    "out_for_delivery": (9, "Đã xử lý xong"),
    "attempt_failed": (9, "Đã xử lý xong"),
    "returned_to_office": (9, "Đã xử lý xong"),
    "delivered": (10, "Đã trả kết quả"),
    "lost": None,
}

# The agency accepted the dossier: sent when it records its dossier code (core.portal.sync).
ACCEPTED = (2, "Được tiếp nhận")
