"""The procedure file: one row per document, the procedure's columns repeated on each.

A flat table is what a clerk can fill in Excel and sort or filter without breaking a link
between two sheets. A procedure's rows must agree on its own columns; a procedure that asks
for no document is one row with the document columns empty. Importing a procedure replaces
its list of documents with the file's, in the file's order.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalogue.kinds import Parsed, Record
from core.catalogue.rows import Places, RowReader, yes_no_text
from core.catalogue.tabular import RowError, Table
from core.places.models import Procedure

PROCEDURE_COLUMNS = (
    "code", "national_code", "name_vi", "name_en", "field", "level", "agency", "fee_vnd",
    "processing_days", "postal_receive", "postal_return", "legal_basis", "postal_other_province",
)  # fmt: skip
DOCUMENT_COLUMNS = (
    "document_name_vi", "document_name_en", "document_kind", "document_condition",
    "document_form", "document_quantity", "document_note",
)  # fmt: skip
COLUMNS = PROCEDURE_COLUMNS + DOCUMENT_COLUMNS
OPTIONAL_COLUMNS = frozenset(
    {"national_code", "name_en", "legal_basis", "postal_other_province", "document_name_en",
     "document_condition", "document_quantity", "document_note"}
)  # fmt: skip

LEVELS = {"province": "province", "commune": "commune", "tỉnh": "province", "xã": "commune"}
# mandatory: always needed; conditional: needed when its condition holds (the condition is
# printed beside it); shown: shown at the counter for a check, not kept in the dossier.
DOCUMENT_KINDS = {
    "mandatory": "mandatory",
    "conditional": "conditional",
    "shown": "shown",
    "bắt buộc": "mandatory",
    "có điều kiện": "conditional",
    "xuất trình": "shown",
}
DOCUMENT_FORMS = {
    "original": "original",
    "certified_copy": "certified_copy",
    "copy": "copy",
    "bản chính": "original",
    "bản sao chứng thực": "certified_copy",
    "bản sao": "copy",
}


def normalised_document(document: dict[str, Any]) -> dict[str, Any]:
    """A document with every key, so a stored list and an imported one compare equal."""
    return {
        "name_vi": document["name_vi"],
        "name_en": document.get("name_en") or document["name_vi"],
        "kind": document.get("kind") or "mandatory",
        "condition": document.get("condition") or None,
        "form": document.get("form") or "copy",
        "quantity": int(document.get("quantity") or 1),
        "note": document.get("note") or None,
    }


def _procedure_fields(reader: RowReader) -> Record:
    name_vi = reader.text("name_vi", limit=500)
    return {
        "slug": reader.code("code"),
        "national_code": reader.text("national_code", required=False, limit=40) or None,
        "name_vi": name_vi,
        "name_en": reader.text("name_en", required=False, limit=500) or name_vi,
        # Empty is allowed: procedures stored before the field existed export it empty, and an
        # export must import back unchanged.
        "field": reader.text("field", required=False, limit=200),
        "level": reader.choice("level", LEVELS),
        "agency": reader.text("agency", limit=300),
        "fee_vnd": reader.whole("fee_vnd"),
        "processing_days": reader.whole("processing_days"),
        "postal_receive": reader.yes_no("postal_receive"),
        "postal_return": reader.yes_no("postal_return"),
        "legal_basis": reader.text("legal_basis", required=False, limit=2000),
        # Empty (a file made before the column existed) reads as no: carrying a dossier to
        # another province is allowed only where the catalogue says so.
        "postal_other_province": reader.yes_no("postal_other_province"),
    }


def _document(reader: RowReader) -> dict[str, Any] | None:
    if not any(reader.raw(c) for c in DOCUMENT_COLUMNS):
        return None
    kind = reader.choice("document_kind", DOCUMENT_KINDS)
    condition = reader.text("document_condition", required=False, limit=500)
    if kind == "conditional" and not condition:
        reader.fail("document_condition", "condition_needed")
    elif kind in ("mandatory", "shown") and condition:
        reader.fail("document_condition", "condition_not_allowed", condition)
    quantity = (
        reader.whole("document_quantity", positive=True) if reader.raw("document_quantity") else 1
    )
    return normalised_document(
        {
            "name_vi": reader.text("document_name_vi", limit=500),
            "name_en": reader.text("document_name_en", required=False, limit=500),
            "kind": kind,
            "condition": condition,
            "form": reader.choice("document_form", DOCUMENT_FORMS),
            "quantity": quantity,
            "note": reader.text("document_note", required=False, limit=1000),
        }
    )


def parse_procedures(table: Table, places: Places) -> Parsed:
    del places  # the catalogue is national: no row names a province
    groups: dict[str, tuple[int, Record]] = {}
    line_counts: dict[str, int] = {}
    seen_documents: dict[tuple[str, str], int] = {}
    blank_lines: dict[str, list[int]] = {}
    errors: list[RowError] = []
    for line, values in table.rows:
        reader = RowReader(line, values)
        fields = _procedure_fields(reader)
        document = _document(reader)
        code = fields["slug"]
        line_counts[code] = line_counts.get(code, 0) + 1
        if code in groups:
            first_line, record = groups[code]
            for column, attribute in zip(PROCEDURE_COLUMNS, _ATTRIBUTES, strict=True):
                if fields[attribute] != record[attribute]:
                    reader.fail(column, "differs", code, other=first_line)
                    break
        else:
            record = {**fields, "documents": []}
            groups[code] = (line, record)
        if document is None:
            blank_lines.setdefault(code, []).append(line)
        else:
            name_key = (code, document["name_vi"].casefold())
            if name_key in seen_documents:
                reader.fail("document_name_vi", "duplicate_key", document["name_vi"],
                            other=seen_documents[name_key])  # fmt: skip
            else:
                seen_documents[name_key] = line
            record["documents"].append(document)
        errors += reader.errors
    for code, lines in blank_lines.items():
        if line_counts[code] > 1:
            errors += [RowError.of(line, "document_name_vi", "document_missing") for line in lines]
    return list(groups.values()), errors


# The model attribute each procedure column sets, in the order of PROCEDURE_COLUMNS.
_ATTRIBUTES = (
    "slug", "national_code", "name_vi", "name_en", "field", "level", "agency", "fee_vnd",
    "processing_days", "postal_receive", "postal_return", "legal_basis", "postal_other_province",
)  # fmt: skip


def export_procedures(session: Session, provinces: frozenset[str] | None) -> list[list[str]]:
    del provinces  # one national catalogue
    rows: list[list[str]] = []
    for p in session.scalars(select(Procedure).order_by(Procedure.slug)):
        head = [
            p.slug, p.national_code or "", p.name_vi, p.name_en, p.field, p.level, p.agency,
            str(p.fee_vnd), str(p.processing_days), yes_no_text(p.postal_receive),
            yes_no_text(p.postal_return), p.legal_basis, yes_no_text(p.postal_other_province),
        ]  # fmt: skip
        documents = [normalised_document(d) for d in p.documents]
        if not documents:
            rows.append(head + [""] * len(DOCUMENT_COLUMNS))
        for d in documents:
            rows.append(
                head
                + [d["name_vi"], d["name_en"], d["kind"], d["condition"] or "", d["form"],
                   str(d["quantity"]), d["note"] or ""]
            )  # fmt: skip
    return rows
