"""The catalogue in the admin area: pages under /admin/catalogue, JSON under
/api/v1/admin/catalogue. Both call core.catalogue; who may do what is decided there
(``catalogue_scope``), never here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from api.staff import staff_user
from api.web import optional_web_user, page_user, render
from core.catalogue.access import CatalogueScope, catalogue_scope
from core.catalogue.messages import COLUMN_LABELS
from core.catalogue.service import (
    KINDS,
    ImportReport,
    export_file,
    export_rows,
    import_file,
    import_table,
    key_text_of_row,
    kind_named,
    rows_for_key,
)
from core.catalogue.tabular import FORMATS, FileFormat, Table
from core.errors import InvalidInput
from core.identity.models import User
from edge.deps import SessionDep

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A catalogue file is a few hundred rows; anything far larger is a mistake, not a catalogue.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# One procedure's documents fit many times over; the edit page is for one record.
MAX_EDIT_ROWS = 200

api_router = APIRouter(prefix="/api/v1/admin/catalogue", tags=["admin"])
page_router = APIRouter(
    prefix="/admin/catalogue", include_in_schema=False, dependencies=[Depends(optional_web_user)]
)

ApiUser = Annotated[User, Depends(staff_user("administer"))]
PageUser = Annotated[User, Depends(page_user("administer"))]


def _format(value: str) -> FileFormat:
    if value not in FORMATS:
        raise InvalidInput("format must be csv or xlsx", field="format")
    return "xlsx" if value == "xlsx" else "csv"


def _download(data: bytes, kind: str, fmt: FileFormat) -> Response:
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{kind}.{fmt}"'},
    )


async def _read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput("the file is larger than 10 MB", field="file")
    return data


def _refusal(report: ImportReport) -> JSONResponse:
    first = report.errors[0]
    return JSONResponse(
        status_code=422,
        content={
            "error": "invalid_file",
            "detail": f"line {first.line}: {first.reason_en} "
            f"({len(report.errors)} errors; nothing was changed)",
            "field": first.column,
            **report.to_json(),
        },
    )


# -- JSON ----------------------------------------------------------------------------------


@api_router.get("/{kind}")
def get_rows(
    kind: str, user: ApiUser, session: SessionDep, province: str | None = None
) -> dict[str, Any]:
    """The kind's rows, as the file would carry them."""
    spec = kind_named(kind)
    rows = export_rows(session, kind, catalogue_scope(user), province)
    return {"kind": kind, "columns": list(spec.columns), "rows": rows}


@api_router.get("/{kind}/export")
def get_export(
    kind: str,
    user: ApiUser,
    session: SessionDep,
    format: str = "csv",  # noqa: A002  the query parameter's public name
    province: str | None = None,
) -> Response:
    fmt = _format(format)
    return _download(export_file(session, kind, fmt, catalogue_scope(user), province), kind, fmt)


@api_router.post("/{kind}/import", response_model=None)
async def post_import(
    kind: str,
    user: ApiUser,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="A UTF-8 CSV or an .xlsx; docs/catalogue.md")],
    dry_run: bool = False,
) -> dict[str, Any] | JSONResponse:
    """All or nothing: 200 with what changed, or 422 listing every bad row (nothing changed)."""
    data = await _read_upload(file)
    report = import_file(session, kind, data, catalogue_scope(user), filename=file.filename,
                         actor_id=user.id, dry_run=dry_run)  # fmt: skip
    if report.refused:
        return _refusal(report)
    return report.to_json()


# -- pages ---------------------------------------------------------------------------------


def _columns(kind: str) -> list[dict[str, str]]:
    return [
        {"name": c, "vi": COLUMN_LABELS[c][0], "en": COLUMN_LABELS[c][1]}
        for c in kind_named(kind).columns
    ]


def _kinds(scope: CatalogueScope) -> list[dict[str, Any]]:
    return [
        {"name": k.name, "vi": k.label_vi, "en": k.label_en, "editable": scope.may_edit(k.name)}
        for k in KINDS.values()
    ]


@page_router.get("", response_class=HTMLResponse)
def catalogue_home(request: Request, user: PageUser, session: SessionDep) -> HTMLResponse:
    scope = catalogue_scope(user)
    counts = {k: len(export_rows(session, k, scope)) for k in KINDS}
    return render(request, "admin/catalogue_index.html",
                  {"kinds": _kinds(scope), "counts": counts, "scope": scope})  # fmt: skip


@page_router.get("/{kind}", response_class=HTMLResponse)
def catalogue_list(
    request: Request, kind: str, user: PageUser, session: SessionDep, province: str = ""
) -> HTMLResponse:
    scope = catalogue_scope(user)
    spec = kind_named(kind)
    rows = export_rows(session, kind, scope, province or None)
    return render(
        request,
        "admin/catalogue_list.html",
        {
            "kind": spec, "kinds": _kinds(scope), "columns": _columns(kind),
            "rows": [(key_text_of_row(spec, r), r) for r in rows], "province": province,
            "editable": scope.may_edit(kind), "imported": request.query_params.get("imported"),
        },
    )  # fmt: skip


@page_router.post("/{kind}/upload", response_class=HTMLResponse)
async def catalogue_upload(
    request: Request,
    kind: str,
    user: PageUser,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Check the file and show what it would change, or every bad row; change nothing yet."""
    scope = catalogue_scope(user)
    data = await _read_upload(file)
    report = import_file(session, kind, data, scope, filename=file.filename, dry_run=True)
    return _preview(request, kind, scope, report, data, file.filename or f"{kind}.csv")


def _preview(
    request: Request,
    kind: str,
    scope: CatalogueScope,
    report: ImportReport,
    data: bytes,
    filename: str,
) -> HTMLResponse:
    return render(
        request,
        "admin/catalogue_preview.html",
        {
            "kind": kind_named(kind), "kinds": _kinds(scope), "report": report,
            "filename": filename, "data": base64.b64encode(data).decode("ascii"),
        },
        status_code=422 if report.refused else 200,
    )  # fmt: skip


@page_router.post("/{kind}/import", response_model=None)
def catalogue_import(
    request: Request,
    kind: str,
    user: PageUser,
    session: SessionDep,
    data: Annotated[str, Form()],
    filename: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Apply the file the preview showed (it is checked again: all or nothing)."""
    scope = catalogue_scope(user)
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise InvalidInput("the file did not come back intact; upload it again",
                           field="data") from exc  # fmt: skip
    report = import_file(session, kind, raw, scope, filename=filename, actor_id=user.id)
    if report.refused:
        return _preview(request, kind, scope, report, raw, filename)
    summary = f"{len(report.created)},{len(report.updated)},{report.unchanged}"
    return RedirectResponse(
        f"/admin/catalogue/{kind}?{urlencode({'imported': summary})}", status_code=303
    )


@page_router.get("/{kind}/export")
def catalogue_export(
    kind: str, user: PageUser, session: SessionDep, format: str = "csv", province: str = ""
) -> Response:  # noqa: A002
    fmt = _format(format)
    data = export_file(session, kind, fmt, catalogue_scope(user), province or None)
    return _download(data, kind, fmt)


def _edit_page(
    request: Request,
    kind: str,
    scope: CatalogueScope,
    key: str,
    rows: list[list[str]],
    report: ImportReport | None = None,
) -> HTMLResponse:
    spec = kind_named(kind)
    # A procedure has one line per document: offer one empty line to add a document.
    blank = [""] * len(spec.columns)
    if kind == "procedures" or not rows:
        rows = [*rows, blank]
    return render(
        request,
        "admin/catalogue_edit.html",
        {
            "kind": spec, "kinds": _kinds(scope), "columns": _columns(kind), "key": key,
            "rows": rows, "report": report,
        },
        status_code=422 if report is not None and report.refused else 200,
    )  # fmt: skip


@page_router.get("/{kind}/edit", response_class=HTMLResponse)
def catalogue_edit(
    request: Request, kind: str, user: PageUser, session: SessionDep, key: str = ""
) -> HTMLResponse:
    scope = catalogue_scope(user)
    rows = rows_for_key(session, kind, scope, key) if key else []
    return _edit_page(request, kind, scope, key, rows)


def _table_from_form(kind: str, form: FormData) -> Table:
    """The edit grid as the file it stands for: row i is line i + 2, as under a header."""
    columns = list(kind_named(kind).columns)
    table = Table(columns)
    count = int(str(form.get("rows", "0")) or 0)
    for index in range(min(count, MAX_EDIT_ROWS)):
        values = {c: str(form.get(f"r{index}-{c}", "")).strip() for c in columns}
        if any(values.values()):
            table.rows.append((index + 2, values))
    return table


@page_router.post("/{kind}/edit", response_model=None)
async def catalogue_save(
    request: Request, kind: str, user: PageUser, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    scope = catalogue_scope(user)
    form = await request.form()
    table = _table_from_form(kind, form)
    report = import_table(session, kind_named(kind), table, scope, actor_id=user.id)
    if report.refused:
        # Every line the clerk sent, blank ones included, so line N is still row N - 2.
        count = min(int(str(form.get("rows", "0")) or 0), MAX_EDIT_ROWS)
        rows = [[str(form.get(f"r{i}-{c}", "")) for c in table.columns] for i in range(count)]
        return _edit_page(request, kind, scope, str(form.get("key", "")), rows, report)
    summary = f"{len(report.created)},{len(report.updated)},{report.unchanged}"
    return RedirectResponse(
        f"/admin/catalogue/{kind}?{urlencode({'imported': summary})}", status_code=303
    )
