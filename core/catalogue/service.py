"""Import and export of the catalogue: every edge (pages, JSON API, CLI) comes through here.

An import is all or nothing: the whole file is validated first, every bad row is reported
with its line, column and reason, and only a file without a single fault is applied. It is
an upsert by natural key, so importing the same file twice changes nothing the second time;
rows the file does not name are left as they are (nothing is deleted by an import).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.catalogue.access import CatalogueScope, ensure_may_edit
from core.catalogue.audit import record_catalogue_change
from core.catalogue.kinds import (
    OFFICE_COLUMNS,
    POST_OFFICE_COLUMNS,
    PRICE_COLUMNS,
    Kind,
    Record,
    export_offices,
    export_post_offices,
    export_prices,
    parse_offices,
    parse_post_offices,
    parse_prices,
)
from core.catalogue.procedures import (
    COLUMNS as PROCEDURE_FILE_COLUMNS,
)
from core.catalogue.procedures import (
    OPTIONAL_COLUMNS as PROCEDURE_OPTIONAL_COLUMNS,
)
from core.catalogue.procedures import (
    export_procedures,
    normalised_document,
    parse_procedures,
)
from core.catalogue.rows import Places
from core.catalogue.tabular import (
    FileFormat,
    RowError,
    Table,
    UnreadableFile,
    detect_format,
    read_table,
    write_table,
)
from core.errors import Forbidden, InvalidInput
from core.places.models import Commune, Office, PostOffice, PriceTier, Procedure, Province

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            name="offices", sheet="offices", model=Office, key=("code",), key_columns=("code",),
            columns=OFFICE_COLUMNS,
            optional_columns=frozenset(
                {"name_en", "lat", "lon", "position_source", "agency_codes"}
            ),
            by_province=True, parse=parse_offices, export_rows=export_offices,
            label_vi="Bộ phận một cửa", label_en="Offices",
        ),
        Kind(
            name="post_offices", sheet="post_offices", model=PostOffice, key=("code",),
            key_columns=("code",), columns=POST_OFFICE_COLUMNS,
            optional_columns=frozenset({"lat", "lon", "position_source"}),
            by_province=True, parse=parse_post_offices, export_rows=export_post_offices,
            label_vi="Bưu cục", label_en="Post offices",
        ),
        Kind(
            name="procedures", sheet="procedures", model=Procedure, key=("slug",),
            key_columns=("code",), columns=PROCEDURE_FILE_COLUMNS,
            optional_columns=PROCEDURE_OPTIONAL_COLUMNS,
            by_province=False, parse=parse_procedures, export_rows=export_procedures,
            label_vi="Thủ tục hành chính", label_en="Procedures",
        ),
        Kind(
            name="price_tiers", sheet="price_tiers", model=PriceTier,
            key=("province_code", "max_grams"), key_columns=("province_code", "max_grams"),
            columns=PRICE_COLUMNS, optional_columns=frozenset(),
            by_province=True, parse=parse_prices, export_rows=export_prices,
            label_vi="Bảng giá cước", label_en="Price tiers",
        ),
    )
}  # fmt: skip


def kind_named(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    return kind


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False

    @property
    def refused(self) -> bool:
        return bool(self.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "applied": self.applied,
            "errors": [e.to_json() for e in self.errors],
        }


def places_for(session: Session, scope: CatalogueScope) -> Places:
    communes = {
        code: (province, lat, lon)
        for code, province, lat, lon in session.execute(
            select(Commune.code, Commune.province_code, Commune.lat, Commune.lon)
        )
    }
    return Places(set(session.scalars(select(Province.code))), communes, scope.may_manage)


def _header_errors(kind: Kind, table: Table) -> list[RowError]:
    errors = []
    present = [c for c in table.columns if c]
    for column in kind.columns:
        if column not in present and column not in kind.optional_columns:
            errors.append(RowError.of(1, column, "missing_column"))
    seen: set[str] = set()
    for column in present:
        if column not in kind.columns:
            errors.append(RowError.of(1, column, "unknown_column"))
        elif column in seen:
            errors.append(RowError.of(1, column, "duplicate_column"))
        seen.add(column)
    if not errors and not table.rows:
        errors.append(RowError.of(0, None, "empty_file"))
    return errors


def _key_text(key: tuple[Any, ...]) -> str:
    return "/".join(str(k) for k in key)


def _stored(obj: Any, attribute: str) -> Any:
    value = getattr(obj, attribute)
    if attribute == "documents":
        return [normalised_document(d) for d in value]
    return value


def import_table(
    session: Session,
    kind: Kind,
    table: Table,
    scope: CatalogueScope,
    *,
    actor_id: int | None = None,
    dry_run: bool = False,
) -> ImportReport:
    ensure_may_edit(scope, kind.name)
    report = ImportReport(kind.name)
    report.errors = _header_errors(kind, table)
    if report.errors:
        return report
    records, errors = kind.parse(table, places_for(session, scope))
    report.rows = len(table.rows)
    if errors:
        report.errors = sorted(
            errors,
            key=lambda e: (e.line, kind.columns.index(e.column) if e.column in kind.columns else 0),
        )
        return report
    # Two imports of one kind at once would both see a key as new and one would fail on the
    # unique index: they take turns, for this transaction's length.
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                    {"name": f"catalogue:{kind.name}"})  # fmt: skip
    existing = {kind.key_of(_as_record(kind, obj)): obj for obj in session.scalars(
        select(kind.model))}  # fmt: skip
    changes: list[tuple[Any, Record]] = []
    audit: list[dict[str, Any]] = []
    for _, record in records:
        key = kind.key_of(record)
        obj = existing.get(key)
        if obj is None:
            report.created.append(_key_text(key))
            changes.append((None, record))
            audit.append({"key": _key_text(key), "before": None, "after": record})
            continue
        differing = {a: v for a, v in record.items() if _stored(obj, a) != v}
        if not differing:
            report.unchanged += 1
            continue
        report.updated.append(_key_text(key))
        changes.append((obj, differing))
        before = {a: _stored(obj, a) for a in differing}
        audit.append({"key": _key_text(key), "before": before, "after": differing})
    if dry_run:
        return report
    for obj, values in changes:
        if obj is None:
            session.add(kind.model(**values))
        else:
            for attribute, value in values.items():
                setattr(obj, attribute, value)
    session.flush()
    report.applied = True
    if audit:
        record_catalogue_change(actor_id, kind.name, audit)
    return report


def _as_record(kind: Kind, obj: Any) -> Record:
    return {attribute: getattr(obj, attribute) for attribute in kind.key}


def import_file(
    session: Session,
    kind_name: str,
    data: bytes,
    scope: CatalogueScope,
    *,
    filename: str | None = None,
    actor_id: int | None = None,
    dry_run: bool = False,
) -> ImportReport:
    kind = kind_named(kind_name)
    ensure_may_edit(scope, kind.name)
    try:
        table = read_table(data, detect_format(data, filename), kind.sheet)
    except UnreadableFile as exc:
        return ImportReport(kind.name, errors=exc.errors)
    return import_table(session, kind, table, scope, actor_id=actor_id, dry_run=dry_run)


def export_rows(
    session: Session, kind_name: str, scope: CatalogueScope, province: str | None = None
) -> list[list[str]]:
    kind = kind_named(kind_name)
    provinces = scope.provinces
    if province is not None:
        if not scope.may_manage(province):
            raise Forbidden(f"province {province} is not yours to read", field="province")
        provinces = frozenset({province})
    return kind.export_rows(session, provinces if kind.by_province else None)


def export_file(
    session: Session,
    kind_name: str,
    fmt: FileFormat,
    scope: CatalogueScope,
    province: str | None = None,
) -> bytes:
    kind = kind_named(kind_name)
    rows = export_rows(session, kind_name, scope, province)
    return write_table(list(kind.columns), rows, fmt, kind.sheet)


def key_text_of_row(kind: Kind, row: list[str]) -> str:
    """The natural key of an exported row, as reports and edit links write it."""
    return "/".join(row[kind.columns.index(c)] for c in kind.key_columns)


def rows_for_key(
    session: Session, kind_name: str, scope: CatalogueScope, key: str
) -> list[list[str]]:
    """The exported rows of one record (several for a procedure: one per document)."""
    kind = kind_named(kind_name)
    return [r for r in export_rows(session, kind_name, scope) if key_text_of_row(kind, r) == key]
