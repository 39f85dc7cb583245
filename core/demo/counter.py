"""The demo's counter: two working days of queue tickets at the hub, and dossiers digitised
where they are held, through the services the counter's and the desk's pages call.

So the service-quality pages show "counter waiting" (one citizen waited longer than the
30-minute target on purpose) and "digitised share" figures, and the agency API has copies to
offer. The searchable text layer of each copy is queued for the worker like any other.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.counter.queue import call_next, finish_serving, take_ticket
from core.custody.models import Item, ItemState
from core.custody.parties import party
from core.demo.journeys import DemoCase, at, working_day_before
from core.digitising.service import DocumentPages, digitise, store_page
from core.identity.models import User
from core.identity.service import actor_for
from core.places.models import PostOffice
from core.settings import Settings
from vntime import VN

# Minutes after opening each citizen takes a number, waits, and is served: the fourth of
# the first day waits 38 minutes (over the 30-minute target of QĐ 468).
ARRIVALS = ((0, 4, 9), (6, 9, 7), (11, 15, 12), (14, 38, 8), (30, 21, 6), (52, 3, 10))
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
DIGITISED_COPIES = 3


def seed_counter_queue(session: Session, hub: PostOffice, clerk: User, *, now: datetime) -> int:
    """The last two working days' tickets at the hub: taken, called, served. Returns how many."""
    today = now.astimezone(VN).date()
    count = 0
    for back in (2, 1):
        day = working_day_before(today, back)
        for index, (arrive, wait, serve) in enumerate(ARRIVALS):
            if back == 1 and index == 3:
                wait = 12  # the long wait happened once
            issued = at(day, 7, 30) + timedelta(minutes=arrive)
            take_ticket(session, hub.id, now=issued)
            called = issued + timedelta(minutes=wait)
            call_next(session, clerk, counter_label="Quầy 1", now=called)
            finish_serving(session, clerk, now=called + timedelta(minutes=serve))
            count += 1
    return count


def seed_digitised(
    session: Session,
    settings: Settings,
    cases: Sequence[DemoCase],
    *,
    clerk: User,
    desk: User,
    now: datetime,
) -> int:
    """Dossiers digitised by whoever holds them now: at the hub by its counter clerk, at the
    office by its desk officer. Returns how many copies were made."""
    holders = {party("post_office", clerk.post_office_id or 0): clerk,
               party("office", desk.office_id or 0): desk}  # fmt: skip
    made = 0
    for demo in cases:
        if made == DIGITISED_COPIES or demo.dossier_code is None:
            continue
        state = session.scalar(
            select(ItemState).join(Item, Item.id == ItemState.item_id)
            .where(Item.code == demo.dossier_code)
        )  # fmt: skip
        holder = holders.get(state.custodian) if state is not None else None
        if holder is None or state is None or state.status not in ("at_post_office",
                                                                     "handed_over"):  # fmt: skip
            continue
        actor = actor_for(holder)
        names = [d["name_vi"] for d in demo.procedure.documents if d.get("kind") != "shown"]
        pages = [_page(demo.citizen.name, names[0] if names else "Tờ khai", n) for n in (1, 2)]
        hashes = [
            store_page(session, settings, actor, demo.dossier_code, page, "image/jpeg",
                       expected_sha256=hashlib.sha256(page).hexdigest(), now=now).sha256
            for page in pages
        ]  # fmt: skip
        documents = [DocumentPages(names[0], 1, 2)] if names else []
        digitise(session, settings, actor, demo.dossier_code, client_id=uuid.uuid4(),
                 page_sha256s=hashes, documents=documents, now=now)  # fmt: skip
        made += 1
    return made


def _page(citizen: str, document: str, number: int) -> bytes:
    """A scanned A4 form (1,130 × 1,600 px, JPEG), with the citizen's name on it."""
    image = Image.new("RGB", (1130, 1600), "white")
    draw = ImageDraw.Draw(image)
    try:
        title: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(str(FONT), 40)
        body: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(str(FONT), 28)
    except OSError:  # an image without DejaVu: the page is plainer, still a page
        title = body = ImageFont.load_default()
    draw.text((90, 120), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", font=title, fill="black")
    draw.text((90, 200), f"{document[:40]} — trang {number}", font=title, fill="black")
    for index, line in enumerate((f"Họ và tên: {citizen}", "Tỉnh Bắc Ninh",
                                  "Nội dung đề nghị: giải quyết thủ tục hành chính")):  # fmt: skip
        draw.text((90, 320 + index * 70), line, font=body, fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()
