"""Two admins creating the same username at once: one gets it, the other a clear refusal
(not a database error surfacing as a 500)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from core.admin.users import Binding, create_staff_user
from core.db import transaction
from core.errors import Conflict
from tests.core.admin.helpers import STRONG, cli_admin
from tests.factories import unique


def test_one_username_goes_to_exactly_one_of_two_racing_admins(
    committing: sessionmaker[Session],
) -> None:
    username = unique("dua").lower()
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(full_name: str) -> None:
        barrier.wait()
        try:
            with transaction(committing) as session:
                create_staff_user(session, cli_admin(), username=username, full_name=full_name,
                                  role="admin", password=STRONG, binding=Binding(),
                                  now=datetime.now(UTC))  # fmt: skip
            outcomes.append("created")
        except Conflict as refused:
            outcomes.append(f"refused:{refused.field}")

    threads = [threading.Thread(target=create, args=(name,)) for name in ("An", "Bình")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["created", "refused:username"]
