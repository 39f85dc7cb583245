"""``hoso digitised verify`` names a changed copy; ``hoso digitised purge`` deletes copies
past their retention, each deletion an event in the ledger."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from core.cli import app as cli
from core.custody.models import CustodyEvent
from core.db import transaction
from core.digitising.models import DigitisedCopy
from core.digitising.service import digitise, store_page
from core.identity.service import actor_for
from core.settings import Settings, get_settings
from tests.digitising_pages import render_page
from tests.factories import dossier_of, make_case, make_user
from tests.journey import hand_to_office


def test_verify_names_a_changed_copy_and_purge_deletes_it_as_an_event(
    committing: sessionmaker[Session],
    settings: Settings,
    cli_runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = settings.model_copy(update={"digitise_ocr_languages": ""})
    page = render_page(1)
    now = datetime.now(UTC)
    with transaction(committing) as db:
        courier = make_user(db, "courier")
        case = make_case(db, settings, service_option="send")
        case.pickup_courier_id = courier.id
        code = dossier_of(db, case).code
        store_page(db, plain, actor_for(courier), code, page, "image/jpeg",
                   expected_sha256=hashlib.sha256(page).hexdigest(), now=now)  # fmt: skip
        copy = digitise(db, plain, actor_for(courier), code, client_id=uuid.uuid4(),
                        page_sha256s=[hashlib.sha256(page).hexdigest()], now=now)  # fmt: skip
        copy_id, good = copy.id, copy.data
        hand_to_office(db, case, courier, make_user(db, "desk_officer"))
    assert good is not None

    assert cli_runner.invoke(cli, ["digitised", "verify"]).exit_code == 0
    with transaction(committing) as db:
        db.execute(update(DigitisedCopy).where(DigitisedCopy.id == copy_id)
                   .values(data=good + b"\n%changed"))  # fmt: skip
    changed = cli_runner.invoke(cli, ["digitised", "verify"])
    assert changed.exit_code == 1
    assert f"copy {copy_id} " in changed.output and "do not hash" in changed.output
    with transaction(committing) as db:
        db.execute(update(DigitisedCopy).where(DigitisedCopy.id == copy_id).values(data=good))

    monkeypatch.setenv("HOSO_DIGITISED_RETENTION_DAYS", "0")
    get_settings.cache_clear()  # the command reads its settings once per process
    purged = cli_runner.invoke(cli, ["digitised", "purge"])
    assert purged.exit_code == 0, purged.output
    assert f"deleted the copy of {code}" in purged.output
    with transaction(committing) as db:
        kept = db.get(DigitisedCopy, copy_id)
        assert kept is not None and kept.data is None and kept.deleted_at is not None
        last = db.scalars(select(CustodyEvent.kind).join(DigitisedCopy, DigitisedCopy.item_id
                                                          == CustodyEvent.item_id)
                          .where(DigitisedCopy.id == copy_id)
                          .order_by(CustodyEvent.seq.desc()).limit(1)).one()  # fmt: skip
    assert last == "digitised_copy_deleted"
