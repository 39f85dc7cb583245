"""The monthly report of a province (``hoso report --month 2026-11 --province 24``, and
/sla/report.pdf): the month's measures, per post office and per office, per procedure, the
trend of each measure by day, what was late when the report was made, and what is not
measured yet. Read from the roll-ups, like the dashboard.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.access import SlaReach
from core.errors import NotFound
from core.places.models import Province
from core.settings import Settings
from core.sla.measures import MEASURES, NOT_YET_MEASURED
from core.sla.report import (
    STAGES,
    Figure,
    QueueMedians,
    breakdown,
    figures,
    late_now,
    month_period,
    queue_medians,
    trends,
)
from labels.charts import Bar, rate_chart
from labels.sla_report import MonthlyReport, ReportTable, render_monthly_report
from vntime import VN


def _pct(figure: Figure) -> str:
    return "—" if figure.rate is None else f"{figure.rate * 100:.1f}%"


def _avg(figure: Figure) -> str:
    if figure.average is None:
        return ""
    if figure.measure.average == "seconds":
        return f"{figure.average / 3600:.1f} giờ"
    return f"{figure.average:.2f} sao"


def monthly_report_pdf(
    session: Session, settings: Settings, *, province_code: str, month: str, now: datetime
) -> bytes:
    period = month_period(settings, month)
    province = session.get(Province, province_code)
    if province is None:
        raise NotFound(f"no province {province_code!r}", field="province")
    reach = SlaReach("province", province_code=province_code)
    month_figures = figures(session, reach, period)
    measures_table = ReportTable(
        "I. Kết quả các chỉ số chất lượng dịch vụ trong tháng",
        ["Chỉ số", "Đạt", "Tổng số", "Tỷ lệ", "Mục tiêu", "Trung bình"],
        [
            [
                f.measure.vi,
                str(f.hits),
                str(f.total),
                _pct(f),
                "" if f.measure.goal is None else f"≥ {f.measure.goal * 100:.0f}%",
                _avg(f),
            ]
            for f in month_figures
        ],  # fmt: skip
        widths=[4, 1, 1, 1, 1.2, 1.3],
    )
    keys = ("pickup_on_time", "door_to_desk", "result_on_time", "first_attempt", "satisfaction")
    heads = ["Đơn vị", "Số hồ sơ lấy", *(MEASURES[k].vi for k in keys[1:])]

    def per(by: str, title: str) -> ReportTable:
        rows = breakdown(session, reach, period, by)
        return ReportTable(
            title,
            heads,
            [
                [
                    r.name,
                    str(r.figures["pickup_on_time"].total),
                    *(_pct(r.figures[k]) for k in keys[1:]),
                ]
                for r in rows
            ],  # fmt: skip
            widths=[3.5, 1, 1.4, 1.4, 1.4, 1.4],
        )

    late = late_now(session, reach, now=now, limit=50)
    late_table = ReportTable(
        f"V. Việc đang chậm tại thời điểm lập báo cáo ({now.astimezone(VN):%H:%M %d/%m/%Y})",
        ["Việc chậm", "Mã bưu gửi", "Đang giữ", "Hạn", "Chậm (giờ)"],
        [
            [
                STAGES[i.stage][0],
                i.item_code or f"#{i.subject_id}",
                i.holder_name,
                f"{i.due_at:%d/%m/%Y %H:%M}",
                f"{i.late_hours:.1f}",
            ]
            for i in late
        ],  # fmt: skip
        widths=[3, 2, 2.5, 1.6, 1],
    )
    charts = []
    for key, points in trends(session, reach, period).items():
        m = MEASURES[key]
        if any(p.total for p in points):
            bars = [Bar(f"{p.start:%d}", p.rate, p.total) for p in points]
            chart = rate_chart(bars, title=m.vi, goal=m.goal,
                               lower_is_better=m.kind == "lower_is_better")  # fmt: skip
            charts.append((m.vi, chart))
    made = now.astimezone(VN)
    short = province.name.removeprefix("Tỉnh ").removeprefix("Thành phố ")
    # "Tỉnh Bắc Ninh" heads a line; inside a sentence it is "tỉnh Bắc Ninh".
    in_text = province.name[:1].lower() + province.name[1:]
    report = MonthlyReport(
        issuer=f"BƯU ĐIỆN {province.name.upper()}",
        number=f"BC-CLDV-{province_code}-{period.start:%Y-%m}",
        place_and_date=f"{short}, ngày {made:%d} tháng {made:%m} năm {made:%Y}",
        title="BÁO CÁO CHẤT LƯỢNG DỊCH VỤ BƯU CHÍNH CÔNG ÍCH TIẾP NHẬN HỒ SƠ, "
        "TRẢ KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
        subtitle=f"Tháng {period.start:%m} năm {period.start:%Y}",
        addressee=f"Ủy ban nhân dân {in_text}; Sở Khoa học và Công nghệ",
        intro=(
            "Thực hiện Quyết định số 45/2016/QĐ-TTg và Thông tư số 17/2017/TT-BTTTT, "
            f"Bưu điện {in_text} báo cáo kết quả cung ứng dịch vụ tiếp nhận hồ sơ, "
            f"trả kết quả giải quyết thủ tục hành chính qua dịch vụ bưu chính công ích từ "
            f"ngày {period.start:%d/%m/%Y} đến ngày {period.end:%d/%m/%Y} như sau. Số liệu "
            "được tính từ sổ theo dõi bàn giao (custody ledger) của hệ thống hoso; cách tính "
            "từng chỉ số theo tài liệu docs/sla.md."
        ),
        tables=[
            measures_table,
            per("post_office", "II. Theo bưu cục"),
            per("office", "III. Theo bộ phận một cửa"),
            per("procedure", "IV. Theo thủ tục hành chính"),
            late_table,
        ],
        charts=charts,
        notes=[
            *(f"Chưa đo: {vi}." for vi, _ in NOT_YET_MEASURED.values()),
            _queue_note(queue_medians(session, reach, period)),
            "Ngày tính theo giờ Việt Nam (UTC+7); một việc được tính vào ngày nó kết thúc.",
        ],
    )
    return render_monthly_report(report)


def _queue_note(queue: QueueMedians) -> str:
    if queue.tickets_waited == 0:
        return "Tại quầy: chưa có phiếu xếp hàng nào được gọi trong tháng."
    serve = "—" if queue.serve_minutes is None else f"{queue.serve_minutes} phút"
    return (f"Tại quầy: {queue.tickets_waited} phiếu xếp hàng được gọi; thời gian chờ trung vị "
            f"{queue.wait_minutes} phút, thời gian phục vụ trung vị {serve} (làm tròn xuống "
            "phút).")  # fmt: skip
