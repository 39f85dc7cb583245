"""The texts a clerk reads about their file, Vietnamese first, English beside it.

Kept in one table so a reason reads the same in the page, the JSON answer and the CLI.
"""

from __future__ import annotations

from typing import Any

# code -> (Vietnamese, English); ``{placeholders}`` are filled with ``format``.
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Bắt buộc phải điền.", "Required."),
    "missing_column": (
        "Thiếu cột «{column}» ở dòng tiêu đề.",
        "The header has no column '{column}'.",
    ),
    "unknown_column": (
        "Cột «{column}» không thuộc mẫu tệp; xem docs/catalogue.md.",
        "Column '{column}' is not part of this file's layout; see docs/catalogue.md.",
    ),
    "duplicate_column": ("Cột «{column}» xuất hiện hai lần.", "Column '{column}' appears twice."),
    "wrong_sheet": (
        "Không có trang tính «{sheet}» (tệp có: {found}).",
        "No sheet named '{sheet}' (the workbook has: {found}).",
    ),
    "empty_file": ("Tệp không có dòng dữ liệu nào.", "The file has no data rows."),
    "unreadable": (
        "Không đọc được tệp: cần CSV mã hoá UTF-8 hoặc Excel .xlsx ({why}).",
        "The file cannot be read: a UTF-8 CSV or an Excel .xlsx is needed ({why}).",
    ),
    "bad_code": (
        "Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới (tối đa 40 ký tự).",
        "A code is letters without accents, digits, '.', '-' or '_' (at most 40 characters).",
    ),
    "bad_agency_code": (
        "Mã cơ quan «{value}» phải là một chữ hoa và hai chữ số (mã cấp 1 theo QCVN 102:2016, "
        "ví dụ H26); nhiều mã cách nhau bằng dấu cách.",
        "Agency code '{value}' must be a capital letter and two digits (QCVN 102:2016 level 1, "
        "e.g. H26); separate several with spaces.",
    ),
    "unknown_province": (
        "Không có tỉnh/thành phố mã «{value}» (34 đơn vị từ 01/7/2025).",
        "No province with code '{value}' (the 34 units since 1 July 2025).",
    ),
    "unknown_commune": ("Không có xã/phường mã «{value}».", "No commune with code '{value}'."),
    "commune_outside_province": (
        "Xã/phường «{value}» không thuộc tỉnh {province}.",
        "Commune '{value}' is not in province {province}.",
    ),
    "not_your_province": (
        "Bạn không được quản lý danh mục của tỉnh {value}.",
        "You may not manage the catalogue of province {value}.",
    ),
    "not_integer": (
        "Cần một số nguyên không âm, viết liền không dấu phân cách (ví dụ 200000).",
        "A whole, non-negative number without separators is needed (e.g. 200000).",
    ),
    "not_positive": ("Cần một số nguyên lớn hơn 0.", "A whole number above 0 is needed."),
    "not_number": ("Cần một số (dấu chấm thập phân).", "A number is needed (decimal point)."),
    "outside_vietnam": (
        "Toạ độ nằm ngoài lãnh thổ Việt Nam.",
        "The position is outside Vietnam.",
    ),
    "one_of": ("Chỉ nhận một trong: {allowed}.", "Must be one of: {allowed}."),
    "yes_no": ("Điền «có» hoặc «không».", "Write 'yes' or 'no'."),
    "duplicate_key": (
        "Trùng với dòng {other}: «{value}» đã có trong tệp.",
        "Same as line {other}: '{value}' is already in the file.",
    ),
    "differs": (
        "Khác với dòng {other} của cùng thủ tục «{value}»; các cột thủ tục phải giống nhau.",
        "Differs from line {other} of the same procedure '{value}'; procedure columns must agree.",
    ),
    "condition_needed": (
        "Giấy tờ có điều kiện phải ghi điều kiện.",
        "A conditional document needs its condition.",
    ),
    "condition_not_allowed": (
        "Chỉ giấy tờ loại «conditional» mới ghi điều kiện.",
        "Only a 'conditional' document carries a condition.",
    ),
    "document_missing": (
        "Thủ tục có nhiều dòng thì mỗi dòng là một giấy tờ: điền tên giấy tờ.",
        "A procedure on several lines has one document per line: name the document.",
    ),
    "too_long": ("Dài quá {limit} ký tự.", "Longer than {limit} characters."),
    "forbidden_kind": (
        "Chỉ quản trị viên được sửa danh mục «{value}».",
        "Only an administrator may change the '{value}' catalogue.",
    ),
}


def message(code: str, **values: Any) -> tuple[str, str]:
    vi, en = MESSAGES[code]
    return vi.format(**values), en.format(**values)


# What each file column means, for page headers and the documentation's tables.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "code": ("Mã", "Code"),
    "province_code": ("Mã tỉnh", "Province code"),
    "commune_code": ("Mã xã/phường", "Commune code"),
    "kind": ("Loại", "Kind"),
    "name": ("Tên", "Name"),
    "name_vi": ("Tên (tiếng Việt)", "Name (Vietnamese)"),
    "name_en": ("Tên (tiếng Anh)", "Name (English)"),
    "address": ("Địa chỉ", "Address"),
    "lat": ("Vĩ độ", "Latitude"),
    "lon": ("Kinh độ", "Longitude"),
    "position_source": ("Nguồn toạ độ", "Position source"),
    "agency_codes": ("Mã cơ quan cấp 1 (mã hồ sơ)", "Agency codes (dossier codes)"),
    "national_code": ("Mã TTHC quốc gia", "National procedure code"),
    "field": ("Lĩnh vực", "Field"),
    "level": ("Cấp thực hiện", "Level"),
    "agency": ("Cơ quan thực hiện", "Agency"),
    "fee_vnd": ("Phí, lệ phí (đồng)", "Fee (đồng)"),
    "processing_days": ("Thời hạn giải quyết (ngày làm việc)", "Processing (working days)"),
    "postal_receive": ("Nhận hồ sơ qua bưu chính", "Dossier by post"),
    "postal_return": ("Trả kết quả qua bưu chính", "Result by post"),
    "legal_basis": ("Căn cứ pháp lý", "Legal basis"),
    "postal_other_province": (
        "Nhận hồ sơ gửi cơ quan tỉnh khác qua bưu chính",
        "Carried by post to an office in another province",
    ),
    "document_name_vi": ("Tên giấy tờ", "Document name"),
    "document_name_en": ("Tên giấy tờ (tiếng Anh)", "Document name (English)"),
    "document_kind": ("Loại giấy tờ", "Document kind"),
    "document_condition": ("Điều kiện", "Condition"),
    "document_form": ("Hình thức", "Form"),
    "document_quantity": ("Số lượng", "Quantity"),
    "document_note": ("Ghi chú", "Note"),
    "max_grams": ("Khối lượng tới (gam)", "Up to (grams)"),
    "same_commune_vnd": ("Cùng xã (đồng/lượt)", "Same commune (đồng/leg)"),
    "same_province_vnd": ("Cùng tỉnh (đồng/lượt)", "Same province (đồng/leg)"),
    "other_province_vnd": ("Khác tỉnh (đồng/lượt)", "Other province (đồng/leg)"),
}
