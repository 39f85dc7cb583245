"""Vietnamese texts, keyed by reason code (see ``edge/texts/__init__.py`` for how to add one).

Sentences as a counter clerk would say them: short, polite, with what to do next. Keep the
same keys as ``en.py``; ``{name}`` placeholders come from the refusal's ``params``.
"""

from __future__ import annotations

from core.custody.transitions import STATUS_LABELS, TRANSITIONS

# Names of things a sentence may mention (params ending in ``_text`` point at these keys).
_NAMES: dict[str, str] = {
    **{f"event.{kind}": rule.label_vi for kind, rule in TRANSITIONS.items()},
    **{f"status.{status}": vi for status, (vi, _) in STATUS_LABELS.items()},
    "party.citizen": "người dân",
    "party.courier": "bưu tá",
    "party.office": "bộ phận một cửa",
    "party.post_office": "bưu cục",
    "party.admin": "quản trị viên",
    "party.agency": "hệ thống cơ quan",
    "party.unknown": "bên khác",
    "item.dossier": "hồ sơ",
    "item.result": "kết quả",
    "address.part.address": "địa chỉ",
    "address.part.province": "tỉnh/thành phố",
    "address.part.district": "quận/huyện (địa chỉ cũ)",
    "address.part.commune": "xã/phường/đặc khu",
}

TEXTS: dict[str, str] = {
    **_NAMES,
    # -- the general text of each kind: what a refusal without its own text says ----------
    "kind.error": "Không thực hiện được yêu cầu.",
    "kind.invalid_input": "Thông tin nhập chưa hợp lệ; vui lòng kiểm tra lại.",
    "kind.not_found": "Không tìm thấy.",
    "kind.conflict": "Không thực hiện được ở trạng thái hiện tại.",
    "kind.invalid_transition": "Thao tác không phù hợp với trạng thái hiện tại của bưu gửi.",
    "kind.forbidden": "Bạn không có quyền thực hiện việc này.",
    "kind.unauthorized": "Vui lòng đăng nhập.",
    "kind.rate_limited": "Bạn thao tác quá nhiều lần; vui lòng chờ rồi thử lại.",
    "kind.password_change_required": "Mật khẩu của bạn vừa được đặt lại: hãy đặt mật khẩu mới.",
    "request.too_large": "Dữ liệu gửi lên quá lớn.",
    "request.throttled": "Quá nhiều yêu cầu từ máy này: thử lại sau {seconds} giây.",
    "input.invalid_field": "Giá trị của trường “{field}” chưa hợp lệ.",
    # -- a courier's scan, by its reason_code, when the refusal has no text of its own -------
    "scan.exception": "Mâu thuẫn với trạng thái đã biết: đã lưu để điều phối viên xem xét.",
    "scan.malformed_code": "Mã không hợp lệ: quét hoặc nhập lại.",
    "scan.unknown_item": "Không tìm thấy bưu gửi này.",
    "scan.not_authorised": "Bạn không được thao tác với bưu gửi này.",
    "scan.conflict": "Không ghi nhận được ở trạng thái hiện tại của bưu gửi.",
    "scan.invalid_transition": "Thao tác không phù hợp với trạng thái hiện tại của bưu gửi.",
    "scan.invalid_input": "Thông tin gửi kèm chưa hợp lệ.",
    "scan.missing_field": "Còn thiếu thông tin bắt buộc.",
    "scan.incomplete_dossier": (
        "Hồ sơ chưa đủ giấy tờ bắt buộc: không nhận; hãy ghi “Không nhận được hồ sơ”."
    ),
    "scan.proof_failed": "Không xác minh được người nhận.",
    "scan.attempts_exhausted": "Đã hết số lần phát: hãy trả bưu gửi về bộ phận một cửa.",
    "scan.bag_sealed": "Túi đã niêm phong.",
    "scan.empty_bag": "Túi không có bưu gửi nào.",
    "scan.unknown_kind": "Thao tác “{kind}” không tồn tại.",
    "scan.service_only": "“{kind_text}” do hệ thống ghi nhận, không quét từ điện thoại.",
    "scan.needs_proof": "Cần bằng chứng người nhận (mã OTP, CCCD hoặc giấy ủy quyền).",
    "scan.needs_detail": "“{kind_text}” còn thiếu thông tin “{name}”.",
    # -- codes typed or scanned ------------------------------------------------------------
    "code.check_digit": "Sai số kiểm tra trong mã {code}: quét hoặc nhập lại.",
    "code.item_id": (
        "Mã bưu gửi gồm 13 ký tự: 2 chữ cái, 9 chữ số, 2 chữ cái (ví dụ DH 000 000 012 VN)."
    ),
    "code.dossier_code": (
        "Mã hồ sơ không đúng dạng V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX "
        "(ví dụ 000.00.24.H05-261203-0012)."
    ),
    "code.cccd": "Số CCCD hoặc mã QR trên căn cước không hợp lệ.",
    "code.malformed": "Mã không hợp lệ: quét hoặc nhập lại.",
    "code.item_id_empty": "Nhập mã bưu gửi (ví dụ DH 000 000 012 VN).",
    "date.format": "Ngày phải có dạng ngày/tháng/năm.",
    # -- items, bags, hand-offs ---------------------------------------------------------------
    "item.unknown": "Không tìm thấy bưu gửi {code}.",
    "item.no_case": "Bưu gửi này không thuộc hồ sơ nào.",
    "item.not_assigned": "Bưu gửi {code} không được phân công cho bạn.",
    "item.other_post_office": "Bưu gửi {code} thuộc bưu cục khác.",
    "item.other_office": "Bưu gửi {code} thuộc bộ phận một cửa khác.",
    "item.held_by": "Bưu gửi {code} đang do {party_text} giữ.",
    "item.not_yet_yours": (
        "Hệ thống chưa ghi nhận bạn giữ bưu gửi {code} (đang do {party_text} giữ): "
        "đã lưu để điều phối viên xem xét."
    ),
    "bag.empty": "Túi {code} không có bưu gửi nào.",
    "bag.sealed": "Túi {code} đã niêm phong.",
    "bag.unknown_bag_code": "Cần mã của một túi đã có để đóng bưu gửi vào.",
    "bag.not_this_bag": "Bưu gửi không nằm trong túi này.",
    "bag.not_in_bag": "Bưu gửi không nằm trong túi nào.",
    "transition.wrong_item_kind": "Không thể ghi “{kind_text}” cho bưu gửi {item_kind_text}.",
    "transition.not_first": "“{kind_text}” không thể là thao tác đầu tiên của bưu gửi.",
    "transition.needs_holder": "Thao tác đầu tiên phải ghi rõ bên đang giữ bưu gửi.",
    "transition.not_allowed": (
        "Không thể ghi “{kind_text}” khi bưu gửi đang ở trạng thái “{status_text}”."
    ),
    "transition.needs_handoff": "“{kind_text}” cần một lượt bàn giao đang mở; hiện không có.",
    "transition.handoff_open": (
        "Bưu gửi đang chờ {party_text} xác nhận bàn giao: xác nhận hoặc từ chối trước."
    ),
    "transition.needs_receiver": "Hãy chọn bên nhận bàn giao.",
    "transition.already_held": "Bưu gửi đã do {party_text} giữ.",
    "transition.holder_or_receiver": "Chỉ bên đang giữ hoặc bên nhận mới mở được lượt bàn giao.",
    "transition.confirm_by": "Lượt bàn giao này phải do {party_text} xác nhận.",
    "handover.bad_receiver": "Chỉ bàn giao được cho bưu tá, bưu cục hoặc bộ phận một cửa.",
    "handover.unknown": "Không tìm thấy biên bản bàn giao này.",
    "handover.both_signatures": "Biên bản cần chữ ký của cả hai bên.",
    "handover.fees_per_dossier": "Khai phí, lệ phí cho từng hồ sơ.",
    "handover.fees_total_differs": "Tổng {total} khác cộng từng hồ sơ {sum}.",
    "papers.no_pickup_yet": "{code}: chưa nhận hồ sơ tại nhà, chưa có phiếu.",
    "handover.other_office": "Biên bản {code} thuộc bộ phận một cửa khác.",
    "handover.closed": "Biên bản {code} đã đóng.",
    "handover.say_what": "Ghi rõ bưu gửi có vấn đề gì.",
    "handover.declined_not_accepted": "Bưu gửi đã từ chối thì không thể nhận.",
    "handover.not_listed": "{code} không có trong biên bản {record}.",
    "handover.line_done": "{code} đã được ghi nhận trước đó.",
    "handover.not_a_side": "Biên bản {code} không phải giữa bạn và bên kia.",
    "handover.correct_unsigned": "Biên bản {code} chưa ký: sửa ngay trong phiên bàn giao.",
    "handover.already_corrected": (
        "Biên bản {code} đã được điều chỉnh bởi {newer}: điều chỉnh biên bản mới nhất."
    ),
    "handover.correction_reason": "Ghi lý do điều chỉnh (tối đa 500 ký tự).",
    "handover.correction_no_change": (
        "Chưa có gì để điều chỉnh: sửa số tiền của hồ sơ hoặc ghi rõ sai sót trong ghi chú."
    ),
    "money.negative": "Số tiền không được âm.",
    "signature.not_uploaded": "Chữ ký chưa được tải lên: vui lòng ký lại.",
    "signature.unreadable": "Không đọc được chữ ký đã vẽ; vui lòng ký lại.",
    "signature.not_png": "Chữ ký phải là ảnh PNG.",
    "money.whole_dong": "Số tiền phải là số đồng nguyên (ví dụ 200.000).",
    # -- the desk ------------------------------------------------------------------------------
    "desk.no_office": "Màn hình một cửa dành cho cán bộ thuộc một bộ phận một cửa.",
    "desk.scan_something": "Quét mã bưu gửi hoặc mã hồ sơ.",
    "desk.dossier_code_empty": "Quét hoặc nhập mã hồ sơ.",
    "desk.not_arrived": "Hồ sơ chưa đến bộ phận này (trạng thái: {status_text}).",
    "case.unknown_dossier_code": "Không có hồ sơ nào mang mã {code}.",
    "desk.unknown_reference": (
        "{code} không phải mã bưu gửi, mã hồ sơ hay số giấy hẹn đã đặt lịch tại đây."
    ),
    "case.other_office": "Hồ sơ này thuộc {office}, không thuộc bộ phận của bạn.",
    "case.has_result": "Hồ sơ #{case_id} đã có bưu gửi kết quả.",
    "case.send_only": "Hồ sơ này chỉ đăng ký gửi hồ sơ, không nhận kết quả qua bưu điện.",
    "case.dossier_code_taken": "Mã hồ sơ {code} đã được ghi cho hồ sơ #{case_id}.",
    "case.appointment_before_receipt": "Ngày hẹn trả không thể trước ngày tiếp nhận hồ sơ.",
    "papers.agency_not_office": (
        "Mã hồ sơ {code} thuộc cơ quan {agency}, không phải của {office} (mã {allowed})."
    ),
    "papers.agency_other_province": "Mã hồ sơ {code} thuộc cơ quan {agency} của tỉnh khác.",
    "papers.code_date_future": "Ngày tiếp nhận trong mã ({date}) sau hôm nay.",
    "papers.code_date_too_old": (
        "Ngày tiếp nhận trong mã ({date}) quá {days} ngày trước ngày bàn giao hồ sơ ({reached})."
    ),
    "papers.reason_too_long": "Lý do tối đa 500 ký tự.",
    "papers.correction_needs_reason": "Hồ sơ đã có mã {code}: sửa mã hoặc ngày hẹn cần ghi lý do.",
    "case.no_dossier_item": "Hồ sơ này không có bưu gửi hồ sơ.",
    # -- dispatch ------------------------------------------------------------------------------
    "dispatch.no_courier": "Bưu cục chưa có bưu tá nào đang làm việc để lập lộ trình.",
    "dispatch.no_stop": "Không tìm thấy điểm dừng này.",
    "dispatch.other_post_office": "Điểm dừng này thuộc bưu cục khác.",
    "dispatch.stop_under_way": "Điểm dừng đã được thực hiện; chỉ đổi được điểm còn kế hoạch.",
    "dispatch.lock_unassigned": "Điểm chưa phân công thì không khóa được: hãy giao bưu tá trước.",
    "dispatch.courier_elsewhere": "Bưu tá này làm việc ở bưu cục khác.",
    "dispatch.pair_under_way": "Đầu kia của điểm dừng này đã do bưu tá khác thực hiện.",
    # -- citizens' bookings -------------------------------------------------------------------
    "booking.not_yours": "Lịch hẹn này không phải của bạn.",
    "case.not_yours": "Bạn không có hồ sơ số {case_id}.",
    "booking.too_late_to_cancel": "Chỉ hủy được lịch hẹn khi bưu tá chưa nhận hồ sơ.",
    "booking.too_late_to_move": "Chỉ đổi được lịch hẹn khi bưu tá chưa nhận hồ sơ.",
    "booking.window_full": "Khung giờ này không còn chỗ; vui lòng chọn khung giờ khác.",
    "rating.stars": "Chọn từ 1 đến 5 sao.",
    "rating.comment_too_long": "Nhận xét tối đa 1.000 ký tự.",
    "rating.not_delivered": "Chỉ đánh giá được khi đã nhận kết quả.",
    "rating.already": "Bạn đã đánh giá hồ sơ này.",
    "rating.unknown_reason": "Lý do không có trong danh sách: {reason}.",
    "otp.none_valid": "Không còn mã hợp lệ cho số điện thoại này: hãy gửi mã mới.",
    "otp.wrong": "Mã không đúng (còn {left} lần thử).",
    "otp.digits": "Mã gồm {digits} chữ số.",
    "booking.choose_window": "Chọn khung giờ.",
    "address.too_short": "Nhập địa chỉ có xã/phường và tỉnh/thành phố.",
    "address.too_long": "Địa chỉ dài tối đa {max} ký tự.",
    "address.not_recognised": (
        "Không nhận ra {part_text}: “{fragment}”. Hãy ghi rõ số nhà, xã/phường và tỉnh/thành phố."
    ),
    # -- signing in ----------------------------------------------------------------------------
    "auth.wrong_credentials": "Sai tên đăng nhập hoặc mật khẩu.",
    "auth.throttled_account": (
        "Tài khoản đăng nhập sai quá nhiều lần: chờ 15 phút hoặc nhờ điều phối viên."
    ),
    "auth.throttled_address": "Đăng nhập sai quá nhiều lần từ máy này: chờ 15 phút.",
    "auth.signed_out": "Phiên đăng nhập không còn hiệu lực: vui lòng đăng nhập lại.",
    "auth.expired": "Phiên đăng nhập đã hết hạn: vui lòng đăng nhập lại.",
    "auth.device_revoked": "Thiết bị này đã bị thu hồi: liên hệ điều phối viên.",
    "auth.account_disabled": "Tài khoản đã bị khóa: liên hệ quản trị viên.",
    # -- who may enter where (core.access AREAS) ----------------------------------------------
    "access.citizen": "Trang này dành cho người dân xem lịch hẹn của mình.",
    "access.desk": "Trang này dành cho cán bộ một cửa.",
    "access.printing": "In ấn dành cho nhân viên.",
    "access.field": "Chức năng này dành cho bưu tá, điều phối viên và giao dịch viên.",
    "access.courier_only": "Chỉ bưu tá mới làm được việc này.",
    "access.supervise": (
        "Chỉ điều phối viên, giám sát cấp tỉnh hoặc quản trị viên mới làm được việc này."
    ),
    "access.dispatch": "Chỉ điều phối viên hoặc quản trị viên mới lập được lộ trình.",
    "access.admin": "Chức năng này dành cho quản trị viên.",
    "access.messages": "Tin nhắn gửi người dân dành cho quản trị viên và điều phối viên.",
    "access.administer": "Khu quản trị dành cho quản trị viên và giám sát cấp tỉnh.",
    "access.bank": (
        "Sao kê ngân hàng và đối soát dành cho điều phối viên, giám sát cấp tỉnh và quản trị viên."
    ),
    "access.money": (
        "Tiền của bưu cục dành cho điều phối viên, giao dịch viên và giám sát của bưu cục đó."
    ),
    "access.cash_up": "Kiểm quỹ do điều phối viên hoặc giao dịch viên của bưu cục ghi nhận.",
    "access.money_review": "Ngoại lệ về tiền do giám sát cấp tỉnh hoặc quản trị viên xử lý.",
    "access.quality": "Số liệu chất lượng dịch vụ dành cho nhân viên.",
    "access.ledger": "Xuất sổ giao nhận dành cho nhân viên bộ phận một cửa và bưu cục.",
    "access.corrections": (
        "Chỉ điều phối viên, giám sát cấp tỉnh hoặc quản trị viên mới được đính chính sổ giao nhận."
    ),
    # digitised dossiers (core/digitising)
    "digitise.no_item": "Không có hồ sơ {code}.",
    "digitise.not_dossier": "{code} là kết quả, không phải hồ sơ: chỉ số hóa hồ sơ.",
    "digitise.wrong_status": (
        "Hồ sơ {code} đang ở trạng thái {status_text}: không có giấy tờ ở đây để số hóa."
    ),
    "digitise.role": "Vai trò của bạn không số hóa hồ sơ.",
    "digitise.not_at_post_office": "Hồ sơ {code} không ở bưu cục này.",
    "digitise.not_yours": "Hồ sơ {code} không do bạn giữ.",
    "digitise.not_an_image": "Mỗi trang phải là ảnh chụp hoặc ảnh quét (JPEG hoặc PNG).",
    "digitise.multi_page_tiff": "Tệp TIFF chỉ được có một trang: quét mỗi trang thành một tệp.",
    "digitise.page_refused": "Trang {page} ({name}) bị từ chối: {reason}",
    "digitise.hash_mismatch": "Trang gửi lên bị hỏng (mã SHA-256 không khớp): hãy gửi lại.",
    "digitise.page_too_large": "Mỗi trang tối đa {max_mb} MB.",
    "digitise.client_id_reused": "Mã của bản số hóa này đã dùng cho các trang khác.",
    "digitise.pages_missing": "Còn {count} trang chưa tải lên.",
    "digitise.ledger_refused": "Sổ giao nhận không ghi nhận bản số hóa của {code}.",
    "digitise.no_pages": "Bản số hóa cần ít nhất một trang.",
    "digitise.too_many_pages": "Bản số hóa tối đa {max} trang.",
    "digitise.duplicate_page": "Trang {page} trùng ảnh với một trang trước.",
    "digitise.document_name": "Mỗi giấy tờ cần tên theo danh mục.",
    "digitise.bad_page_range": "Trang {first}–{last} nằm ngoài {count} trang của bản số hóa.",
    "digitise.no_event": "Không tìm thấy sự kiện của bản số hóa trong sổ giao nhận.",
    "digitise.no_copy": "Chưa có bản số hóa của {code}.",
    "digitise.copy_deleted": "Bản số hóa của {code} đã bị xóa khi hết thời hạn lưu.",
    "digitise.bad_link": "Liên kết tải về không hợp lệ.",
    "digitise.link_expired": "Liên kết tải về đã hết hạn: hãy xin liên kết mới.",
    "digitise.copy_tampered": "Bản lưu không khớp với sổ giao nhận: bản này đã bị thay đổi.",
    # -- the post office's counter (core/counter) -------------------------------------------
    "access.counter": "Quầy giao dịch của bưu cục dành cho giao dịch viên.",
    "counter.walk_in_needs_dossier": (
        "Tại quầy, người dân nộp hồ sơ: chọn “gửi hồ sơ” hoặc “gửi hồ sơ và nhận kết quả”."
    ),
    "counter.no_case": "Không có hồ sơ số {case_id}.",
    "counter.other_post_office": "Hồ sơ này đăng ký với bưu cục khác.",
    "counter.not_for_counter": "Kết quả này được phát tận nhà, không trả tại quầy.",
    "counter.proof": (
        "Chọn cách xác minh người nhận: quét mã QR trên CCCD hoặc mã xác nhận qua SMS."
    ),
    "counter.no_result": "Hồ sơ này chưa có kết quả để trả.",
    "counter.fee_due": "Cần thu đúng {due} đồng còn phải nộp.",
    "counter.no_post_office": "Không có bưu cục này.",
    "counter.queue_full": "Hôm nay đã hết số thứ tự: vui lòng hỏi tại quầy.",
    "counter.label_too_long": "Tên quầy tối đa {max} ký tự.",
    "counter.queue_empty": "Không còn ai đang chờ.",
    "counter.no_ticket": "Hôm nay không có số thứ tự {number}.",
    "counter.ticket_called_twice": "Số {number} đã được gọi rồi: không gọi lại lần nữa.",
    "counter.ticket_number": "Nhập số thứ tự cần gọi.",
    "signature.missing": "Thiếu chữ ký: vui lòng ký vào ô ký.",
    "booking.no_result_leg": "Lịch hẹn này không có kết quả do bưu điện chuyển.",
    "booking.result_leg_locked": (
        "Kết quả đang được phát hoặc đã giao: không đổi được nơi nhận nữa."
    ),
    "bag.wrong_destination": (
        "Túi {code} được gửi tới bưu cục khác: chưa nhận đến, đã lưu để điều phối viên xử lý."
    ),
    "bag.no_destination": "Không có bưu cục nhận túi này.",
    "bag.destination_is_origin": "Túi phải gửi tới một bưu cục khác bưu cục đóng túi.",
    "bag.unknown": "Không có túi {code}.",
    "bag.other_post_office": "Túi này thuộc bưu cục khác.",
    "bag.not_sealed": "Niêm phong túi {code} trước khi chuyển đi.",
    "bag.choose_destination": "Chọn bưu cục nhận túi.",
    "bag.other_province_role": (
        "Chỉ điều phối viên hoặc giao dịch viên của bưu cục được gửi túi sang bưu cục tỉnh khác."
    ),
    "bag.item_not_for_province": (
        "Bưu gửi {code} không gửi tới tỉnh của {post_office}: lấy ra khỏi túi trước khi niêm phong."
    ),
    "booking.procedure_not_across_provinces": (
        "Thủ tục “{procedure}” không nhận hồ sơ qua bưu chính gửi cơ quan tỉnh khác: "
        "chọn bộ phận một cửa trong {province}."
    ),
    "booking.no_transit_post_office": ("Chưa có bưu cục nào chuyển hồ sơ tới {office}."),
    # Device-signed scans (issue 19)
    "scan.device_signature_missing": (
        "Sự kiện thiếu chữ ký của thiết bị: hãy cập nhật ứng dụng rồi đăng nhập lại."
    ),
    "scan.device_signature_invalid": (
        "Chữ ký của thiết bị không khớp với sự kiện: sự kiện không được ghi nhận."
    ),
    "scan.device_key_unknown": (
        "Khóa ký không thuộc thiết bị này hoặc đã bị thu hồi: hãy đăng nhập lại."
    ),
    "device.key_taken": "Khóa ký này thuộc thiết bị khác hoặc đã bị thu hồi: hãy tạo khóa mới.",
    "sla.range_unknown": "Khoảng thời gian phải là hôm nay, tuần này, tháng này hoặc tự chọn.",
    "sla.not_a_date": "«{value}» không phải là ngày (dd/mm/yyyy).",
    "sla.start_missing": "Khoảng thời gian tự chọn cần có ngày bắt đầu.",
    "sla.end_before_start": "Ngày kết thúc đứng trước ngày bắt đầu.",
    "sla.range_too_long": "Khoảng thời gian dài nhất {most} ngày; khoảng này {days} ngày.",
    "sla.level_unknown": "Cấp xem số liệu phải là tỉnh, bưu cục, bộ phận một cửa hoặc bưu tá.",
    "sla.place_unknown": "Không tìm thấy nơi cần xem số liệu.",
    "sla.not_yours": "Bạn không được xem số liệu của cấp hoặc đơn vị này.",
    "sla.id_not_number": "Mã bưu cục, bộ phận một cửa hoặc bưu tá phải là số.",
    "sla.not_a_month": "«{value}» không phải là tháng (yyyy-mm).",
    "sla.measure_unknown": "Không có chỉ tiêu «{value}».",
    "sla.breakdown_unknown": "Số liệu cấp này không chia theo tiêu chí đã chọn.",
    "sla.complaint_empty": "Hãy viết nội dung phản ánh.",
    "sla.complaint_too_long": "Nội dung phản ánh dài nhất {most} ký tự.",
    "sla.complaint_answered": "Phản ánh này đã được trả lời.",
    "sla.phone_range": "Trên điện thoại chỉ xem được số liệu hôm nay hoặc tuần này.",
    # Why a stop is in no courier's route (core.dispatch.reasons), on the dispatcher's page.
    "dispatch.unassigned.waiting_for_plan": (
        "Chờ kế hoạch của ngày: đã xếp tạm, sẽ được phân công khi lập kế hoạch sáng hôm đó."
    ),
    "dispatch.unassigned.no_room_by_insertion": (
        "Không chèn được vào lộ trình hiện tại (khung giờ, ca làm hoặc tải trọng đã kín); "
        "bấm “Lập lại kế hoạch” để sắp xếp lại."
    ),
    "dispatch.unassigned.window_passed": (
        "Đã quá khung giờ hẹn mà bưu tá chưa đến kịp; cần hẹn lại với người dân."
    ),
    "dispatch.unassigned.not_planned": "Chưa được lập kế hoạch.",
    "dispatch.unassigned.other": "Chưa xếp được vào lộ trình của bưu tá nào.",
    "dispatch.unassigned.window_unreachable": "Không kịp khung giờ trong ca của bưu tá nào.",
    "dispatch.unassigned.no_room": (
        "Lộ trình của các bưu tá đã kín (khung giờ, ca làm việc hoặc tải trọng)."
    ),
    "dispatch.unassigned.no_courier": (
        "Không có bưu tá phù hợp hoặc bưu tá được khóa không làm việc."
    ),
    "dispatch.unassigned.too_large": "Vượt quá tải trọng còn trống của mọi bưu tá.",
    # The bank page after a form succeeded (api/bank/pages.py).
    "bank.done_imported": "Đã nhập {new} dòng mới, {known} dòng đã có ({counts}).",
    "bank.done_unreadable": "{count} dòng không đọc được.",
    "bank.done_already_imported": (
        "Tệp này đã được nhập trước đó (sao kê #{statement}); không có gì thay đổi."
    ),
    "bank.done_matched": "Đã khớp dòng #{line} với hồ sơ {item} và lập biên lai.",
    "bank.done_line_refunded": "Đã lập lệnh hoàn tiền cho dòng #{line}.",
    "bank.done_case_refunded": "Đã hoàn {amount} cho hồ sơ {case}.",
    # The door-step checks of a pickup (core/courier/doorstep.py, core/money/doorstep.py).
    "doorstep.file_hash": "Chữ ký hoặc ảnh chưa được tải lên đúng: hãy ký hoặc chụp lại.",
    "doorstep.reason_code": "Hãy chọn một lý do trong danh sách.",
    "doorstep.checklist_missing": (
        "Hãy liệt kê từng giấy tờ của thủ tục: tên, loại (bản chính, bản sao chứng thực hoặc "
        "bản sao) và có hay không."
    ),
    "doorstep.entry_name": "Giấy tờ thứ {number} trong danh sách chưa có tên.",
    "doorstep.entry_form": (
        "Giấy tờ thứ {number}: chọn bản chính, bản sao chứng thực hoặc bản sao."
    ),
    "doorstep.entry_flag": "Giấy tờ thứ {number}: đánh dấu có hay không.",
    "doorstep.entry_present_and_not_applicable": (
        "Giấy tờ thứ {number} không thể vừa có vừa “không áp dụng”."
    ),
    "doorstep.entry_pages": "Số tờ của giấy tờ thứ {number} phải từ 1 đến {max}.",
    "doorstep.incomplete": (
        "Hồ sơ còn thiếu: {missing}. Ghi nhận “từ chối nhận hồ sơ” thay vì nhận."
    ),
    "doorstep.seal_number": "Nhập số niêm phong của phong bì (1–40 ký tự).",
    "doorstep.fees_collected": "Nhập số tiền đã thu, bằng đồng (0 nếu không thu).",
    "doorstep.payment_method": "Chọn cách thanh toán trong danh sách.",
    "doorstep.missing_documents": "Ghi rõ giấy tờ người dân cần bổ sung.",
    "doorstep.cash_differs": (
        "Hồ sơ này còn phải thu {due} (đã trừ số đã trả): thu đúng số đó, hoặc chọn lý do "
        "chênh lệch."
    ),
    "doorstep.cash_difference_reason": "Hãy chọn lý do chênh lệch trong danh sách.",
    "doorstep.proof": "Chọn cách xác minh người nhận: mã OTP, CCCD hoặc giấy ủy quyền.",
    "doorstep.recipient_name": "Nhập họ tên đầy đủ của người được ủy quyền.",
    "doorstep.otp_code": "Nhập mã 6 chữ số người dân nhận được.",
    "doorstep.cccd_qr": "Quét mã QR trên CCCD gắn chip của người dân.",
    # The courier's day: the "arrived" step and ETA requests.
    "stop.unknown": "Không có điểm dừng số {stop} trong lộ trình.",
    "stop.not_yours": "Điểm dừng số {stop} không thuộc lộ trình của bạn.",
    "stop.cancelled": "Điểm dừng số {stop} đã được bỏ khỏi lộ trình.",
    "arrival.no_offset": "Thời điểm đến cần có múi giờ (ví dụ +07:00).",
    "arrival.future": "Thời điểm đến ở tương lai; hãy kiểm tra đồng hồ của điện thoại.",
    "arrival.other_day": "Thời điểm đến không thuộc ngày của điểm dừng.",
}
