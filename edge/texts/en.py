"""English texts, keyed by reason code; the same keys as ``vi.py`` (a test keeps them equal).

See ``edge/texts/__init__.py`` for how to add one.
"""

from __future__ import annotations

from core.custody.transitions import STATUS_LABELS, TRANSITIONS

_NAMES: dict[str, str] = {
    **{f"event.{kind}": rule.label_en for kind, rule in TRANSITIONS.items()},
    **{f"status.{status}": en for status, (_, en) in STATUS_LABELS.items()},
    "party.citizen": "the citizen",
    "party.courier": "a courier",
    "party.office": "the one-stop office",
    "party.post_office": "the post office",
    "party.admin": "an admin",
    "party.agency": "the agency's system",
    "party.unknown": "another party",
    "item.dossier": "dossier",
    "item.result": "result",
    "address.part.address": "the address",
    "address.part.province": "the province or city",
    "address.part.district": "the district (old address)",
    "address.part.commune": "the commune or ward",
}

TEXTS: dict[str, str] = {
    **_NAMES,
    "kind.error": "This could not be done.",
    "kind.invalid_input": "Something typed is not valid; please check it.",
    "kind.not_found": "Not found.",
    "kind.conflict": "Not possible in the current state.",
    "kind.invalid_transition": "This does not fit the item's current status.",
    "kind.forbidden": "You may not do this.",
    "kind.unauthorized": "Please sign in.",
    "kind.rate_limited": "Too many attempts; please wait and try again.",
    "kind.password_change_required": "Your password was reset: choose a new one.",
    "request.too_large": "The data sent is too large.",
    "request.throttled": "Too many requests from this device: try again in {seconds} s.",
    "input.invalid_field": "The value of “{field}” is not valid.",
    "scan.exception": "Contradicts the known state: kept for a dispatcher to review.",
    "scan.malformed_code": "Invalid code: scan or type it again.",
    "scan.unknown_item": "No such item.",
    "scan.not_authorised": "You may not act on this item.",
    "scan.conflict": "Not recorded in the item's current state.",
    "scan.invalid_transition": "This does not fit the item's current status.",
    "scan.invalid_input": "Something sent with it is not valid.",
    "scan.missing_field": "Something required is missing.",
    "scan.incomplete_dossier": (
        "The dossier lacks a required document: do not take it; record “Could not pick up”."
    ),
    "scan.proof_failed": "The recipient could not be verified.",
    "scan.attempts_exhausted": "No delivery attempts left: return the item to the office.",
    "scan.bag_sealed": "The bag is sealed.",
    "scan.empty_bag": "The bag holds no items.",
    "scan.unknown_kind": "There is no action “{kind}”.",
    "scan.service_only": "“{kind_text}” is recorded by the system, not scanned on a phone.",
    "scan.needs_proof": "Proof of the recipient is needed (one-time code, ID card or letter).",
    "scan.needs_detail": "“{kind_text}” needs “{name}”.",
    "code.check_digit": "Wrong check digit in {code}: scan or type it again.",
    "code.item_id": (
        "An item ID has 13 characters: 2 letters, 9 digits, 2 letters (e.g. DH 000 000 012 VN)."
    ),
    "code.dossier_code": (
        "A dossier code looks like V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX "
        "(e.g. 000.00.24.H05-261203-0012)."
    ),
    "code.cccd": "The citizen ID number or the ID card's QR is not valid.",
    "code.malformed": "Invalid code: scan or type it again.",
    "code.item_id_empty": "Type an item ID (e.g. DH 000 000 012 VN).",
    "date.format": "A date is day/month/year.",
    "item.unknown": "No item {code}.",
    "item.no_case": "This item belongs to no case.",
    "item.not_assigned": "Item {code} is not assigned to you.",
    "item.other_post_office": "Item {code} belongs to another post office.",
    "item.other_office": "Item {code} belongs to another one-stop office.",
    "item.held_by": "Item {code} is held by {party_text}.",
    "item.not_yet_yours": (
        "The ledger does not yet show you holding {code} (held by {party_text}): "
        "kept for a dispatcher to review."
    ),
    "bag.empty": "Bag {code} holds no items.",
    "bag.sealed": "Bag {code} is sealed.",
    "bag.unknown_bag_code": "Give the code of an existing bag to pack the item into.",
    "bag.not_this_bag": "The item is not in this bag.",
    "bag.not_in_bag": "The item is not in a bag.",
    "transition.wrong_item_kind": "“{kind_text}” cannot be recorded for a {item_kind_text} item.",
    "transition.not_first": "“{kind_text}” cannot be an item's first action.",
    "transition.needs_holder": "The first action must name who holds the item.",
    "transition.not_allowed": "“{kind_text}” cannot be recorded while the item is “{status_text}”.",
    "transition.needs_handoff": "“{kind_text}” needs an open hand-off; none is open.",
    "transition.handoff_open": (
        "The item is waiting for {party_text} to confirm a hand-off: confirm or decline it first."
    ),
    "transition.needs_receiver": "Choose who receives the hand-off.",
    "transition.already_held": "The item is already held by {party_text}.",
    "transition.holder_or_receiver": "Only the holder or the receiver can open a hand-off.",
    "transition.confirm_by": "This hand-off must be confirmed by {party_text}.",
    "handover.bad_receiver": "Items can be handed only to a courier, a post office or an office.",
    "handover.unknown": "No such hand-over record.",
    "handover.both_signatures": "Both sides must sign the record.",
    "handover.fees_per_dossier": "Give the fees of each dossier.",
    "handover.fees_total_differs": "The total {total} differs from the sum per dossier, {sum}.",
    "papers.no_pickup_yet": "{code}: no pickup recorded yet, so there is no slip.",
    "handover.other_office": "Hand-over {code} belongs to another office.",
    "handover.closed": "Hand-over {code} is closed.",
    "handover.say_what": "Say what is wrong with the item.",
    "handover.declined_not_accepted": "A declined item cannot be accepted.",
    "handover.not_listed": "{code} is not on hand-over {record}.",
    "handover.line_done": "{code} was already recorded.",
    "handover.not_a_side": "Record {code} is not between you and the other side.",
    "handover.correct_unsigned": "Record {code} is not signed yet: change it in its sitting.",
    "handover.already_corrected": (
        "Record {code} was already corrected by {newer}: correct the latest record."
    ),
    "handover.correction_reason": "Give the reason for the correction (at most 500 characters).",
    "handover.correction_no_change": (
        "Nothing to correct: change a dossier's amount or say what was wrong in the note."
    ),
    "money.negative": "An amount cannot be negative.",
    "signature.not_uploaded": "The signature has not been uploaded: please sign again.",
    "signature.unreadable": "The drawn signature could not be read; please sign again.",
    "signature.not_png": "A signature must be a PNG image.",
    "money.whole_dong": "An amount is a whole number of đồng (e.g. 200.000).",
    "desk.no_office": "The desk is for officers bound to a one-stop office.",
    "desk.scan_something": "Scan an item ID or a dossier code.",
    "desk.dossier_code_empty": "Scan or type the dossier code.",
    "desk.not_arrived": "The dossier has not reached this office yet (status: {status_text}).",
    "case.unknown_dossier_code": "No case has dossier code {code}.",
    "desk.unknown_reference": (
        "{code} is no item ID, dossier code or appointment slip number booked here."
    ),
    "case.other_office": "This case belongs to {office}, not to your office.",
    "case.has_result": "Case #{case_id} already has a result item.",
    "case.send_only": "This case asked to send the dossier only, not to get the result by post.",
    "case.dossier_code_taken": "Dossier code {code} is already recorded on case #{case_id}.",
    "case.appointment_before_receipt": "The appointment cannot be before the dossier was received.",
    "papers.agency_not_office": (
        "Dossier code {code} belongs to agency {agency}, not to {office} ({allowed})."
    ),
    "papers.agency_other_province": (
        "Dossier code {code} belongs to agency {agency} of another province."
    ),
    "papers.code_date_future": "The date in the code ({date}) is after today.",
    "papers.code_date_too_old": (
        "The date in the code ({date}) is more than {days} days before the dossier's hand-over "
        "({reached})."
    ),
    "papers.reason_too_long": "A reason is at most 500 characters.",
    "papers.correction_needs_reason": (
        "The case already has code {code}: changing a code or an appointment needs a reason."
    ),
    "case.no_dossier_item": "This case has no dossier item.",
    "dispatch.no_courier": "This post office has no active courier to plan for.",
    "dispatch.no_stop": "No such stop.",
    "dispatch.other_post_office": "This stop belongs to another post office.",
    "dispatch.stop_under_way": "The stop is already under way; only a planned stop can change.",
    "dispatch.lock_unassigned": "An unassigned stop cannot be locked: move it to a courier first.",
    "dispatch.courier_elsewhere": "That courier works at another post office.",
    "dispatch.pair_under_way": "The other end of this stop is under way with another courier.",
    "booking.not_yours": "This booking is not yours.",
    "case.not_yours": "You have no case {case_id}.",
    "booking.too_late_to_cancel": "A booking can be cancelled only before the pickup.",
    "booking.too_late_to_move": "A booking can be moved only before the pickup.",
    "booking.window_full": "This window is full; please choose another.",
    "rating.stars": "Choose 1 to 5 stars.",
    "rating.comment_too_long": "A comment is limited to 1,000 characters.",
    "rating.not_delivered": "A case can be rated once the result is delivered.",
    "rating.already": "You have already rated this case.",
    "rating.unknown_reason": "Unknown reason: {reason}.",
    "otp.none_valid": "No valid code for this phone: request a new one.",
    "otp.wrong": "The code is not correct ({left} tries left).",
    "otp.digits": "The code has {digits} digits.",
    "booking.choose_window": "Choose a window.",
    "address.too_short": "Type the address with its commune and province.",
    "address.too_long": "An address has at most {max} characters.",
    "address.not_recognised": (
        "{part_text} was not recognised: “{fragment}”. Give the house number, commune and province."
    ),
    "auth.wrong_credentials": "Wrong username or password.",
    "auth.throttled_account": (
        "Too many failed sign-ins for this account: wait 15 minutes or ask a dispatcher."
    ),
    "auth.throttled_address": "Too many failed sign-ins from this device: wait 15 minutes.",
    "auth.signed_out": "Your session is no longer valid: please sign in again.",
    "auth.expired": "Your session has expired: please sign in again.",
    "auth.device_revoked": "This device was revoked: ask a dispatcher.",
    "auth.account_disabled": "This account is disabled: ask an admin.",
    "access.citizen": "This is for citizens' own bookings.",
    "access.desk": "The desk is for desk officers.",
    "access.printing": "Printing is for staff.",
    "access.field": "This is for couriers, dispatchers and counter clerks.",
    "access.courier_only": "Only a courier can do this.",
    "access.supervise": "Only a dispatcher, a province supervisor or an admin can do this.",
    "access.dispatch": "Only a dispatcher or an admin can plan routes.",
    "access.admin": "This is for admins.",
    "access.messages": "Citizen messages are for admins and dispatchers.",
    "access.administer": "The admin area is for admins and province supervisors.",
    "access.bank": (
        "Bank lines and reconciliation are for dispatchers, province supervisors and admins."
    ),
    "access.money": "A post office's money is for its dispatchers, counter clerks and supervisors.",
    "access.cash_up": "A cash-up is recorded by the post office's dispatcher or counter clerk.",
    "access.money_review": "Money exceptions are resolved by a province supervisor or an admin.",
    "access.quality": "Service-quality figures are for staff.",
    "access.ledger": "The custody ledger export is for staff of offices and post offices.",
    "access.corrections": (
        "Only a dispatcher, a province supervisor or an admin can correct the ledger."
    ),
    # digitised dossiers (core/digitising)
    "digitise.no_item": "There is no dossier {code}.",
    "digitise.not_dossier": "{code} is a result, not a dossier: only dossiers are digitised.",
    "digitise.wrong_status": "Dossier {code} is {status_text}: there is no paper here to digitise.",
    "digitise.role": "Your role does not digitise dossiers.",
    "digitise.not_at_post_office": "Dossier {code} is not at this post office.",
    "digitise.not_yours": "Dossier {code} is not held by you.",
    "digitise.not_an_image": "A page must be a photo or scan (JPEG or PNG).",
    "digitise.multi_page_tiff": "A TIFF file must hold one page: scan each page to its own file.",
    "digitise.page_refused": "Page {page} ({name}) refused: {reason}",
    "digitise.hash_mismatch": "The page arrived damaged (its SHA-256 differs): send it again.",
    "digitise.page_too_large": "A page may be at most {max_mb} MB.",
    "digitise.client_id_reused": "This copy's key was already used for other pages.",
    "digitise.pages_missing": "{count} page(s) have not been uploaded yet.",
    "digitise.ledger_refused": "The custody ledger did not accept the copy of {code}.",
    "digitise.no_pages": "A copy needs at least one page.",
    "digitise.too_many_pages": "A copy has at most {max} pages.",
    "digitise.duplicate_page": "Page {page} is the same photo as an earlier page.",
    "digitise.document_name": "Each document needs its name from the checklist.",
    "digitise.bad_page_range": "Pages {first}–{last} are not within the copy's {count} pages.",
    "digitise.no_event": "The copy's ledger event is missing.",
    "digitise.no_copy": "There is no digitised copy of {code}.",
    "digitise.copy_deleted": "The copy of {code} was deleted after the retention period.",
    "digitise.bad_link": "This is not a valid download link.",
    "digitise.link_expired": "The download link has expired: ask for a new one.",
    "digitise.copy_tampered": "The stored copy does not match the custody ledger: it was changed.",
    # -- the post office's counter (core/counter) -------------------------------------------
    "access.counter": "The post office's counter is for its counter clerks.",
    "counter.walk_in_needs_dossier": (
        "At the counter a dossier is handed in: choose send, or send and receive."
    ),
    "counter.no_case": "There is no case {case_id}.",
    "counter.other_post_office": "This case is booked with another post office.",
    "counter.not_for_counter": "This result is to be brought home, not collected at the counter.",
    "counter.proof": (
        "Choose the recipient's proof: the chip ID card QR, or the one-time code by SMS."
    ),
    "counter.no_result": "This case has no result to hand out yet.",
    "counter.fee_due": "Collect exactly the {due} đồng still due.",
    "counter.no_post_office": "There is no such post office.",
    "counter.queue_full": "Today's numbers are used up: please ask at the counter.",
    "counter.label_too_long": "A counter's name has at most {max} characters.",
    "counter.queue_empty": "Nobody is waiting.",
    "counter.no_ticket": "There is no ticket {number} today.",
    "counter.ticket_called_twice": "Number {number} was already called: it is not called again.",
    "counter.ticket_number": "Type the number to call.",
    "signature.missing": "The signature is missing: please sign on the pad.",
    "booking.no_result_leg": "This booking has no result for the post to carry.",
    "booking.result_leg_locked": (
        "The result is already on its way or handed over: where to receive it can no longer change."
    ),
    "bag.wrong_destination": (
        "Bag {code} is addressed to another post office: not arrived; kept for a dispatcher."
    ),
    "bag.no_destination": "There is no such destination post office.",
    "bag.destination_is_origin": (
        "A bag is sent to another post office than the one that closed it."
    ),
    "bag.unknown": "There is no bag {code}.",
    "bag.other_post_office": "This bag is another post office's.",
    "bag.not_sealed": "Seal bag {code} before it leaves.",
    "bag.choose_destination": "Choose the post office the bag goes to.",
    "bag.other_province_role": (
        "Only the post office's dispatcher or counter clerk sends a bag to another province."
    ),
    "bag.item_not_for_province": (
        "Item {code} is not addressed to {post_office}'s province: take it out before sealing."
    ),
    "booking.procedure_not_across_provinces": (
        "The procedure “{procedure}” is not carried by post to an office in another province: "
        "choose an office in {province}."
    ),
    "booking.no_transit_post_office": "No post office carries dossiers to {office} yet.",
    # Device-signed scans (issue 19)
    "scan.device_signature_missing": (
        "The event carries no signature of this phone: update the app and sign in again."
    ),
    "scan.device_signature_invalid": (
        "The phone's signature does not match the event: it was not recorded."
    ),
    "scan.device_key_unknown": (
        "The signing key is not this phone's, or it was revoked: sign in again."
    ),
    "device.key_taken": "This signing key belongs to another phone or was revoked: make a new one.",
    "sla.range_unknown": "The range must be today, this week, this month or a chosen range.",
    "sla.not_a_date": "'{value}' is not a date (dd/mm/yyyy).",
    "sla.start_missing": "A chosen range needs a start date.",
    "sla.end_before_start": "The end date is before the start date.",
    "sla.range_too_long": "A range covers at most {most} days; this one covers {days}.",
    "sla.level_unknown": "The level must be a province, a post office, an office or a courier.",
    "sla.place_unknown": "No such place to show figures for.",
    "sla.not_yours": "You may not see this level's or this place's figures.",
    "sla.id_not_number": "The id of a post office, office or courier is a number.",
    "sla.not_a_month": "'{value}' is not a month (yyyy-mm).",
    "sla.measure_unknown": "There is no measure '{value}'.",
    "sla.breakdown_unknown": "This level's figures do not break down that way.",
    "sla.complaint_empty": "Write what went wrong.",
    "sla.complaint_too_long": "A complaint is at most {most} characters.",
    "sla.complaint_answered": "This complaint is already answered.",
    "sla.phone_range": "On the phone the figures are for today or this week.",
    # Why a stop is in no courier's route (core.dispatch.reasons), on the dispatcher's page.
    "dispatch.unassigned.waiting_for_plan": (
        "Waiting for the day's plan: placed provisionally, assigned when the day is planned."
    ),
    "dispatch.unassigned.no_room_by_insertion": (
        "Does not fit into the current routes (windows, shifts or capacity are full); "
        "press “Re-plan” to rearrange them."
    ),
    "dispatch.unassigned.window_passed": (
        "The window has passed before a courier could get there; rebook with the citizen."
    ),
    "dispatch.unassigned.not_planned": "Not planned yet.",
    "dispatch.unassigned.other": "Not yet placed in any courier's route.",
    "dispatch.unassigned.window_unreachable": "No courier can reach the window within their shift.",
    "dispatch.unassigned.no_room": "Every courier's route is full (windows, shift or capacity).",
    "dispatch.unassigned.no_courier": "No suitable courier, or the locked courier is not working.",
    "dispatch.unassigned.too_large": "Larger than any courier's free capacity.",
    # The bank page after a form succeeded (api/bank/pages.py).
    "bank.done_imported": "Imported {new} new lines; {known} were already there ({counts}).",
    "bank.done_unreadable": "{count} lines could not be read.",
    "bank.done_already_imported": (
        "This file was imported before (statement #{statement}); nothing changed."
    ),
    "bank.done_matched": "Line #{line} matched to case {item}, and its receipt issued.",
    "bank.done_line_refunded": "Refund ordered for line #{line}.",
    "bank.done_case_refunded": "Refunded {amount} for case {case}.",
    # The door-step checks of a pickup (core/courier/doorstep.py, core/money/doorstep.py).
    "doorstep.file_hash": (
        "The signature or photo was not uploaded properly: sign or take it again."
    ),
    "doorstep.reason_code": "Choose one of the listed reasons.",
    "doorstep.checklist_missing": (
        "List each document of the procedure: its name, its form (original, certified copy or "
        "copy) and whether it is there."
    ),
    "doorstep.entry_name": "Document {number} of the list has no name.",
    "doorstep.entry_form": "Document {number}: choose original, certified copy or copy.",
    "doorstep.entry_flag": "Document {number}: mark whether it is there.",
    "doorstep.entry_present_and_not_applicable": (
        "Document {number} cannot be both there and “not applicable”."
    ),
    "doorstep.entry_pages": "Document {number} must have 1 to {max} pages.",
    "doorstep.incomplete": "The dossier lacks: {missing}. Record “Could not pick up” instead.",
    "doorstep.seal_number": "Enter the envelope's seal number (1–40 characters).",
    "doorstep.fees_collected": "Enter the amount collected in đồng (0 if none).",
    "doorstep.payment_method": "Choose a payment method from the list.",
    "doorstep.missing_documents": "Name the documents the citizen must add.",
    "doorstep.cash_differs": (
        "{due} is due for this case (amounts already paid deducted): collect exactly that, or "
        "choose a reason for the difference."
    ),
    "doorstep.cash_difference_reason": "Choose a reason for the difference from the list.",
    "doorstep.proof": "Choose how the recipient is verified: one-time code, ID card or letter.",
    "doorstep.recipient_name": "Enter the authorised person's full name.",
    "doorstep.otp_code": "Enter the 6-digit code the citizen received.",
    "doorstep.cccd_qr": "Scan the QR code on the citizen's chip ID card.",
    # The courier's day: the "arrived" step and ETA requests.
    "stop.unknown": "There is no stop {stop} in any run sheet.",
    "stop.not_yours": "Stop {stop} is not on your run sheet.",
    "stop.cancelled": "Stop {stop} was taken off the plan.",
    "arrival.no_offset": "The arrival time needs a UTC offset (e.g. +07:00).",
    "arrival.future": "The arrival time is in the future; check the phone's clock.",
    "arrival.other_day": "The arrival time is not on the stop's day.",
}
