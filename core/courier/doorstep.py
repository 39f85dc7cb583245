"""What the server checks before a door-step event reaches the ledger.

A pickup must carry the procedure's document checklist, a seal number, the fees collected and
both signatures (TT 17/2017/TT-BTTTT art. 5); a refused pickup says why and what is missing;
a delivery carries proof the server verified itself (a one-time code, the citizen's chip ID
card QR, or an authorisation); a failed attempt carries a reason code. The same checks run
whether the phone sends the event in a sync batch or through a typed endpoint, so an
offline pickup is held to the same rules as an online one.

Raw proof (the code typed, the ID card QR text) is consumed here and never reaches the
append-only ledger: the event keeps only what was verified (last four ID digits, which
checks matched).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from core.custody.attempts import attempts_used_up
from core.custody.commands import ScanCommand
from core.errors import DomainError, Forbidden, InvalidInput
from core.identity.service import keyed_hash
from core.media.service import is_sha256
from core.money.doorstep import CASH_DIFFERENCE_REASONS, check_cash
from core.otp.service import verify_code
from core.settings import Settings
from labels.cccd import parse_cccd_qr
from labels.errors import InvalidCode
from labels.s10 import validate_item_id
from labels.text import strip_diacritics

# Why a pickup did not happen. ``incomplete_dossier`` must name the missing documents.
PICKUP_REFUSAL_REASONS: dict[str, tuple[str, str]] = {
    "incomplete_dossier": ("Hồ sơ chưa đủ giấy tờ", "Dossier incomplete"),
    "wrong_document_form": (
        "Giấy tờ không đúng bản chính / bản sao theo yêu cầu",
        "A document is not in the required form (original or copy)",
    ),
    "fee_not_paid": ("Người dân chưa nộp phí, lệ phí", "Fees not paid"),
    "citizen_absent": ("Người dân vắng nhà", "Citizen not at home"),
    "citizen_withdrew": ("Người dân không muốn gửi hồ sơ nữa", "Citizen withdrew the request"),
    "wrong_address": ("Sai địa chỉ", "Wrong address"),
}
# Reasons a pickup needs the list of what the citizen must add.
_NEEDS_MISSING = frozenset({"incomplete_dossier", "wrong_document_form"})

# Why a delivery attempt failed, after the UPU non-delivery reasons (EMH event).
ATTEMPT_FAILURE_REASONS: dict[str, tuple[str, str]] = {
    "addressee_absent": ("Người nhận vắng nhà", "Addressee absent"),
    "incorrect_address": ("Địa chỉ không chính xác", "Incorrect address"),
    "addressee_moved": ("Người nhận đã chuyển đi", "Addressee has moved"),
    "refused_by_addressee": ("Người nhận từ chối nhận", "Refused by the addressee"),
    "identity_not_verified": (
        "Không xác minh được người nhận",
        "Recipient identity could not be verified",
    ),
    "no_access": ("Không vào được địa điểm phát", "No access to the delivery point"),
    "rescheduled_by_addressee": ("Người nhận hẹn phát lại", "Addressee asked for another time"),
    "force_majeure": ("Thời tiết xấu, thiên tai, bất khả kháng", "Weather or force majeure"),
}

DELIVERY_PROOFS = ("otp", "cccd_qr", "authorisation")
# A result held by a post office, handed out at its counter (core/counter/handout.py): handed
# in by a courier, or arrived in a bag (from another post office or province).
AT_COUNTER_STATUSES = frozenset({"at_post_office", "arrived"})
# Where a result is handed to the citizen on proof: on a courier's round, or at the counter
# of the post office holding it.
DELIVERABLE_STATUSES = frozenset({"out_for_delivery"}) | AT_COUNTER_STATUSES
# Re-exported for the reasons list the courier app reads (mobile_api ``/reasons``).
CASH_REASONS = CASH_DIFFERENCE_REASONS
PAYMENT_METHODS = ("cash", "bank_transfer", "card", "e_wallet")
CHECKED_KINDS = frozenset(
    {"picked_up", "pickup_refused", "out_for_delivery", "delivered", "attempt_failed"}
)


class Refused(Exception):
    """A door-step event the server will not pass to the ledger, with the reason code."""

    def __init__(self, reason_code: str, error: DomainError) -> None:
        super().__init__(error.detail)
        self.reason_code = reason_code
        self.error = error


@dataclass(frozen=True)
class ItemFacts:
    """What the door-step checks need to know of one item, read for a whole batch at once."""

    code: str
    kind: str
    case_id: int | None
    status: str
    custodian: str
    delivery_attempts: int
    documents: list[dict[str, Any]]
    contact_name: str | None
    contact_phone: str | None
    cccd_hash: str | None
    cccd_last4: str | None
    birth_year: int | None
    sex: str | None
    # The citizen collects the result at the post office's counter (not brought home).
    result_at_post_office: bool = False


# Read by the ledger in its locking round trip (``core.custody.service.Precheck``), so the
# facts are those of the locked items. psycopg parameters: it runs on the driver connection.
FACTS_SQL = """
    SELECT i.code, i.kind, i.case_id, s.status, s.custodian, s.delivery_attempts,
           b.procedure_id, p.documents::text AS documents_json,
           b.contact_name, b.contact_phone, b.cccd_hash, b.cccd_last4,
           b.citizen_birth_year, b.citizen_sex, b.result_at_post_office
    FROM items AS i
    JOIN item_states AS s ON s.item_id = i.id
    LEFT JOIN cases AS c ON c.id = i.case_id
    LEFT JOIN bookings AS b ON b.id = c.booking_id
    LEFT JOIN procedures AS p ON p.id = b.procedure_id
    WHERE i.code = ANY(%(codes)s::text[])
"""


def facts_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, ItemFacts]:
    """``FACTS_SQL``'s rows by item code. A batch's items mostly share a procedure: its
    document list is parsed once per procedure, not once per row."""
    documents: dict[int, list[dict[str, Any]]] = {}
    facts: dict[str, ItemFacts] = {}
    for (
        code, kind, case_id, status, custodian, delivery_attempts, procedure_id,
        documents_json, contact_name, contact_phone, cccd_hash, cccd_last4, birth_year, sex,
        at_post_office,
    ) in rows:  # fmt: skip
        if procedure_id is not None and procedure_id not in documents:
            documents[procedure_id] = list(orjson.loads(documents_json or "[]"))
        facts[code] = ItemFacts(
            code=code,
            kind=kind,
            case_id=case_id,
            status=status,
            custodian=custodian,
            delivery_attempts=delivery_attempts,
            documents=documents.get(procedure_id, []) if procedure_id is not None else [],
            contact_name=contact_name,
            contact_phone=contact_phone,
            cccd_hash=cccd_hash,
            cccd_last4=cccd_last4,
            birth_year=birth_year,
            sex=sex,
            result_at_post_office=bool(at_post_office),
        )
    return facts


def load_facts(session: Session, raw_codes: Iterable[str]) -> dict[str, ItemFacts]:
    """The facts of these items, read on their own (the scan sync reads them with the lock)."""
    codes = set()
    for raw in raw_codes:
        try:
            codes.add(validate_item_id(raw))
        except InvalidCode:
            continue  # the ledger rejects it as malformed_code
    if not codes:
        return {}
    session.flush()  # the driver must see what the session has pending
    raw_connection = session.connection().connection.driver_connection
    assert raw_connection is not None
    literal = "{" + ",".join(sorted(codes)) + "}"
    return facts_from_rows(raw_connection.execute(FACTS_SQL, {"codes": literal}).fetchall())


def facts_for(facts: Mapping[str, ItemFacts], code: str) -> ItemFacts | None:
    found = facts.get(code)  # the code as scanned is almost always already normal
    if found is not None:
        return found
    try:
        return facts.get(validate_item_id(code))
    except InvalidCode:
        return None


def prepare(
    session: Session,
    settings: Settings,
    command: ScanCommand,
    facts: ItemFacts | None,
    *,
    actor_party: str,
    now: datetime,
) -> ScanCommand:
    """Check a door-step event and return it as the ledger should store it, or raise Refused."""
    if command.kind not in CHECKED_KINDS:
        return command
    if facts is None:
        return _without_raw_proof(command)  # unknown item or a bag: the ledger answers
    if command.kind == "picked_up":
        return _check_pickup(session, command, facts)
    if command.kind == "pickup_refused":
        return _check_refusal(command, facts)
    if command.kind == "attempt_failed":
        _reason(command.details, ATTEMPT_FAILURE_REASONS)
        return command
    if command.kind == "out_for_delivery":
        if attempts_used_up(facts.delivery_attempts, settings):
            raise Refused(
                "attempts_exhausted",
                Forbidden(
                    f"{facts.delivery_attempts} delivery attempts failed; hand the item back to "
                    "the office",
                    field="code",
                ),
            )
        return command
    # delivered: verify only what this courier may deliver now; anything else goes to the
    # ledger without the raw proof, and the ledger refuses or keeps it as an exception.
    if facts.custodian != actor_party or facts.status not in DELIVERABLE_STATUSES:
        return _without_raw_proof(command)
    if facts.status in AT_COUNTER_STATUSES and not facts.result_at_post_office:
        raise Refused(
            "not_authorised",
            Forbidden(
                "this result is to be brought home, not collected at the counter",
                field="code",
                reason="counter.not_for_counter",
            ),
        )
    return _check_delivery(session, settings, command, facts, now=now)


def _invalid(error: InvalidInput, reason_code: str = "invalid_input") -> Refused:
    """The refusal of one door-step field: ``error`` carries the field, the English detail
    and the reason whose text the courier reads (edge/texts), ``reason_code`` the kind."""
    return Refused(reason_code, error)


def _sha(mapping: Mapping[str, Any], name: str, prefix: str, *, required: bool = True) -> None:
    value = mapping.get(name)
    if value is None and not required:
        return
    if not is_sha256(value):
        raise _invalid(
            InvalidInput(
                "must be the SHA-256 (64 lowercase hex digits) of the uploaded file",
                field=f"{prefix}.{name}",
                reason="doorstep.file_hash",
            ),
            "missing_field" if value is None else "invalid_input",
        )


def _reason(details: Mapping[str, Any], table: Mapping[str, tuple[str, str]]) -> str:
    reason = details.get("reason_code")
    if reason not in table:
        raise _invalid(
            InvalidInput(
                f"must be one of {', '.join(table)}",
                field="details.reason_code",
                reason="doorstep.reason_code",
            ),
            "missing_field" if reason is None else "invalid_input",
        )
    return str(reason)


def _fold(text: str) -> str:
    return " ".join(strip_diacritics(unicodedata.normalize("NFC", text)).casefold().split())


# The forms a procedure asks for (core.places.models.Procedure.documents), weakest first.
_FORM_STRENGTH = {"copy": 0, "certified_copy": 1, "original": 2}
_FORM_LABELS = {
    "copy": "bản sao / copy",
    "certified_copy": "bản sao chứng thực / certified copy",
    "original": "bản chính / original",
}
MAX_PAGES = 999


@dataclass(frozen=True)
class Checked:
    """The checklist as the door-step event keeps it, and what is missing."""

    # Each: name, form, kind (mandatory | conditional | shown | other), condition, status
    # (received | shown | not_applicable), pages (0 unless received), present (kept for
    # readers of older events: True when received or shown).
    entries: list[dict[str, Any]]
    gaps: list[str]


def _entries(details: Mapping[str, Any]) -> dict[str, tuple[int, dict[str, Any]]]:
    checklist = details.get("checklist")
    if not isinstance(checklist, list) or not checklist:
        raise _invalid(
            InvalidInput(
                "list each document of the procedure with name, form (original, "
                "certified_copy or copy) and present",
                field="details.checklist",
                reason="doorstep.checklist_missing",
            ),
            "missing_field",
        )
    seen: dict[str, tuple[int, dict[str, Any]]] = {}
    for index, entry in enumerate(checklist):
        where = f"details.checklist[{index}]"
        number = index + 1  # as the courier counts the list
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _invalid(
                InvalidInput(
                    "each entry needs a name",
                    field=where,
                    reason="doorstep.entry_name",
                    params={"number": number},
                )
            )
        if entry.get("form") not in _FORM_STRENGTH:
            raise _invalid(
                InvalidInput(
                    "must be original, certified_copy or copy",
                    field=f"{where}.form",
                    reason="doorstep.entry_form",
                    params={"number": number},
                )
            )
        # ``present`` is required; ``not_applicable`` may be left out (false).
        for flag, default in (("present", None), ("not_applicable", False)):
            if not isinstance(entry.get(flag, default), bool):
                raise _invalid(
                    InvalidInput(
                        "must be true or false",
                        field=f"{where}.{flag}",
                        reason="doorstep.entry_flag",
                        params={"number": number},
                    )
                )
        if entry.get("not_applicable") and entry["present"]:
            raise _invalid(
                InvalidInput(
                    "a document present cannot also be not applicable",
                    field=f"{where}.not_applicable",
                    reason="doorstep.entry_present_and_not_applicable",
                    params={"number": number},
                )
            )
        pages = entry.get("pages")
        if pages is not None and (
            isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= MAX_PAGES
        ):
            raise _invalid(
                InvalidInput(
                    f"must be 1 to {MAX_PAGES} pages",
                    field=f"{where}.pages",
                    reason="doorstep.entry_pages",
                    params={"number": number, "max": MAX_PAGES},
                )
            )
        seen[_fold(entry["name"])] = (index, entry)
    return seen


def check_checklist(details: Mapping[str, Any], documents: list[dict[str, Any]]) -> Checked:
    """The procedure's documents against the door-step checklist, as the law asks them.

    Each procedure document is found in ``details.checklist`` by name (accents and case
    ignored). A mandatory one must be present in its form or a stronger one (an original for
    a certified copy or a copy; a certified copy for a copy); a conditional one ("nếu có",
    "nếu ủy quyền", ...) is present, or ticked ``not_applicable`` and kept so, with its
    condition; a shown-only one (the ID card) must be shown and is not taken. Pages are the
    courier's count, else the catalogue's quantity.
    """
    seen = _entries(details)
    entries: list[dict[str, Any]] = []
    gaps: list[str] = []
    matched: set[str] = set()
    for document in documents:
        name = str(document.get("name_vi", ""))
        kind = str(document.get("kind") or "mandatory")
        condition = document.get("condition") or None
        required_form = str(document.get("form") or "copy")
        key = _fold(name)
        matched.add(key)
        found = seen.get(key)
        entry = found[1] if found else None
        form = str(entry["form"]) if entry else required_form
        base = {"name": name, "form": form, "kind": kind, "condition": condition}
        if entry is not None and entry["present"]:
            if kind == "shown":
                entries.append({**base, "status": "shown", "pages": 0, "present": True})
            elif _FORM_STRENGTH[form] < _FORM_STRENGTH.get(required_form, 0):
                gaps.append(f"{name} ({_FORM_LABELS[required_form]})")
            else:
                pages = entry.get("pages") or max(int(document.get("quantity") or 1), 1)
                entries.append({**base, "status": "received", "pages": pages, "present": True})
        elif kind == "conditional" and entry is not None and entry.get("not_applicable"):
            entries.append({**base, "status": "not_applicable", "pages": 0, "present": False})
        else:
            gaps.append(name)
    for key, (_, entry) in seen.items():
        if key not in matched and entry["present"]:
            # Papers the citizen added beyond the procedure's list are on the slip too.
            pages = entry.get("pages") or 1
            entries.append({"name": entry["name"], "form": entry["form"], "kind": "other",
                            "condition": None, "status": "received", "pages": pages,
                            "present": True})  # fmt: skip
    return Checked(entries=entries, gaps=gaps)


def _check_pickup(session: Session, command: ScanCommand, facts: ItemFacts) -> ScanCommand:
    details = command.details
    checked = check_checklist(details, facts.documents)
    if checked.gaps:
        missing = "; ".join(checked.gaps)
        raise Refused(
            "incomplete_dossier",
            InvalidInput(
                f"The dossier lacks: {missing}. Record pickup_refused instead",
                field="details.checklist",
                reason="doorstep.incomplete",
                params={"missing": missing},
            ),
        )
    seal = details.get("seal_number")
    if not isinstance(seal, str) or not seal.strip() or len(seal) > 40:
        raise _invalid(
            InvalidInput(
                "the envelope's seal number (1-40 characters)",
                field="details.seal_number",
                reason="doorstep.seal_number",
            ),
            "missing_field",
        )
    fees = details.get("fees_collected_vnd")
    if not isinstance(fees, int) or isinstance(fees, bool) or fees < 0:
        raise _invalid(
            InvalidInput(
                "the fees collected, in đồng (0 if none)",
                field="details.fees_collected_vnd",
                reason="doorstep.fees_collected",
            ),
            "missing_field" if fees is None else "invalid_input",
        )
    method = details.get("payment_method")
    if fees > 0 and method not in PAYMENT_METHODS:
        raise _invalid(
            InvalidInput(
                f"must be one of {', '.join(PAYMENT_METHODS)}",
                field="details.payment_method",
                reason="doorstep.payment_method",
            )
        )
    _sha(command.evidence, "citizen_signature_sha256", "evidence")
    _sha(command.evidence, "courier_signature_sha256", "evidence")
    if facts.documents:  # no procedure list: the checklist is kept as the courier sent it
        command = replace(command, details={**details, "checklist": checked.entries})
    return _check_cash(session, command, facts, fees, method)


def _check_cash(
    session: Session, command: ScanCommand, facts: ItemFacts, fees: int, method: object
) -> ScanCommand:
    """Cash taken must be what the ledger says is still due, or come with a reason (which
    opens an exception once the pickup is recorded: ``core.courier.sync``). A payment by
    another method is not taken on the courier's word: the bank statement shows it."""
    if facts.case_id is None or (fees > 0 and method != "cash"):
        return command
    reason = command.details.get("cash_difference_reason")
    try:
        check = check_cash(session, facts.case_id, collected_vnd=fees, reason_code=reason)
    except InvalidInput as exc:
        raise Refused("cash_amount_differs", exc) from exc
    if check is None:
        return command
    details = {**command.details, "cash_due_vnd": check.due_vnd}
    if not check.differs:
        details.pop("cash_difference_reason", None)
    return replace(command, details=details)


def _check_refusal(command: ScanCommand, facts: ItemFacts) -> ScanCommand:
    reason = _reason(command.details, PICKUP_REFUSAL_REASONS)
    if reason not in _NEEDS_MISSING:
        return command
    missing = command.details.get("missing_documents")
    if missing is None and command.details.get("checklist") is not None:
        missing = check_checklist(command.details, facts.documents).gaps
    if not isinstance(missing, list) or not missing or not all(isinstance(m, str) for m in missing):
        raise _invalid(
            InvalidInput(
                "name what the citizen must add",
                field="details.missing_documents",
                reason="doorstep.missing_documents",
            ),
            "missing_field",
        )
    return replace(command, details={**command.details, "missing_documents": missing})


def _without_raw_proof(command: ScanCommand) -> ScanCommand:
    evidence = {k: v for k, v in command.evidence.items() if k not in ("otp_code", "cccd_qr")}
    return replace(command, evidence=evidence)


def _check_delivery(
    session: Session, settings: Settings, command: ScanCommand, facts: ItemFacts, *, now: datetime
) -> ScanCommand:
    evidence = dict(command.evidence)
    proof = evidence.get("proof")
    if proof not in DELIVERY_PROOFS:
        raise _invalid(
            InvalidInput(
                f"must be one of {', '.join(DELIVERY_PROOFS)}",
                field="evidence.proof",
                reason="doorstep.proof",
            ),
            "missing_field" if proof is None else "invalid_input",
        )
    _sha(evidence, "signature_sha256", "evidence")
    # A photo proves where a door-step delivery happened; at the counter the place is known.
    _sha(evidence, "photo_sha256", "evidence", required=facts.status not in AT_COUNTER_STATUSES)
    verified: dict[str, Any]
    if proof == "otp":
        verified = _check_otp(session, settings, evidence, facts, now=now)
    elif proof == "cccd_qr":
        verified = _check_cccd(settings, evidence, facts)
    else:
        name = evidence.get("recipient_name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid(
                InvalidInput(
                    "the authorised person's full name",
                    field="evidence.recipient_name",
                    reason="doorstep.recipient_name",
                ),
                "missing_field",
            )
        _sha(evidence, "authorisation_photo_sha256", "evidence")
        verified = {"recipient": "authorised", "recipient_name": name.strip()}
    kept = {k: v for k, v in evidence.items() if k not in ("otp_code", "cccd_qr")}
    return replace(command, evidence={**kept, **verified, "proof": proof})


def _check_otp(
    session: Session,
    settings: Settings,
    evidence: Mapping[str, Any],
    facts: ItemFacts,
    *,
    now: datetime,
) -> dict[str, Any]:
    code = evidence.get("otp_code")
    if not isinstance(code, str):
        raise _invalid(
            InvalidInput(
                "the 6-digit code the citizen received",
                field="evidence.otp_code",
                reason="doorstep.otp_code",
            ),
            "missing_field",
        )
    assert facts.contact_phone is not None
    check = verify_code(
        session,
        settings,
        phone=facts.contact_phone,
        purpose="delivery",
        code=code,
        now=now,
        case_id=facts.case_id,
    )
    if not check.ok or check.challenge is None:
        # Not an exception for the caller: the wrong guess is counted and must be committed.
        wrong = InvalidInput(
            check.reason, field="evidence.otp_code", reason=check.text_key, params=check.params
        )
        raise Refused("proof_failed", wrong)
    return {"recipient": "citizen", "otp_challenge_id": check.challenge.id}


def _check_cccd(
    settings: Settings, evidence: Mapping[str, Any], facts: ItemFacts
) -> dict[str, Any]:
    payload = evidence.get("cccd_qr")
    if not isinstance(payload, str):
        raise _invalid(
            InvalidInput(
                "the text of the QR on the citizen's chip ID card",
                field="evidence.cccd_qr",
                reason="doorstep.cccd_qr",
            ),
            "missing_field",
        )
    if facts.cccd_hash is None:
        raise Refused(
            "proof_failed",
            InvalidInput(
                "the booking holds no ID number to match; use a one-time code",
                field="evidence.proof",
            ),
        )
    try:
        card = parse_cccd_qr(payload)
    except InvalidCode as exc:
        raise Refused("proof_failed", InvalidInput(str(exc), field="evidence.cccd_qr")) from exc
    if keyed_hash(settings, card.id, purpose="cccd") != facts.cccd_hash:
        raise Refused(
            "proof_failed",
            InvalidInput("this ID card is not the one given at booking", field="evidence.cccd_qr"),
        )
    if facts.contact_name is not None and _fold(card.name) != _fold(facts.contact_name):
        raise Refused(
            "proof_failed",
            InvalidInput(
                "the name on the ID card does not match the booking", field="evidence.cccd_qr"
            ),
        )
    checks: dict[str, Any] = {
        "recipient": "citizen",
        "cccd_last4": card.id[-4:],
        "name_matched": True,
    }
    if facts.birth_year is not None:
        if card.dob.year != facts.birth_year:
            raise Refused(
                "proof_failed",
                InvalidInput(
                    "the birth year on the ID card does not match the booking",
                    field="evidence.cccd_qr",
                ),
            )
        checks["birth_year_matched"] = True
    if facts.sex is not None:
        if card.sex != facts.sex:
            raise Refused(
                "proof_failed",
                InvalidInput(
                    "the sex on the ID card does not match the booking", field="evidence.cccd_qr"
                ),
            )
        checks["sex_matched"] = True
    return checks
