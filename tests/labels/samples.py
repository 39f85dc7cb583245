"""Sample inputs shared by the label and document tests (plain functions, no fixtures state)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from labels.label import Address, LabelData, Party
from labels.s10 import make_item_id


def make_label(**overrides: Any) -> LabelData:
    item_id = overrides.pop("item_id", make_item_id("EB", 12345678))
    data = LabelData(
        item_id=item_id,
        service="dossier",
        tracking_url=f"https://hoso.vnpost.vn/t/{item_id}",
        sender=Party(
            name="Nguyễn Thị Hương",
            phone="0912345678",
            address=Address(
                street="Số 12 ngõ 34 đường Nguyễn Đăng Đạo, khu phố Tiền An",
                commune="Phường Kinh Bắc",
                province="Bắc Ninh",
            ),
        ),
        recipient=Party(
            name="Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
            phone="02223822558",
            address=Address(
                street="Số 11 đường Lý Thái Tổ",
                commune="Phường Kinh Bắc",
                province="Bắc Ninh",
            ),
        ),
        destination_office="Bộ phận một cửa - Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh",
        procedure_name="Cấp đổi giấy phép lái xe do ngành Giao thông vận tải cấp",
        seal_number="NP-0012345",
        weight_g=350,
        amount_to_collect_vnd=26000,
        date=dt.date(2025, 7, 14),
        post_office="Bưu cục Kinh Bắc - Bắc Ninh",
    )
    return replace(data, **overrides)
