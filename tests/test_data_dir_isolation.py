"""The run never writes into the checkout's data dir (tests/conftest.py): its settings point
at a folder of its own, and a test that writes into the checkout's anyway fails."""

from __future__ import annotations

from pathlib import Path

from core.custody.checkpoints import heads_file
from core.settings import Settings, get_settings
from tests.conftest import ROOT, TEST_DATA_DIR, data_dir_changes, data_dir_state


def test_the_run_and_what_it_starts_use_a_data_dir_outside_the_checkout() -> None:
    for settings in (get_settings(), Settings()):
        assert settings.data_dir == TEST_DATA_DIR
        assert not heads_file(settings).resolve().is_relative_to(ROOT)
        assert not settings.sms_log_path.resolve().is_relative_to(ROOT)


def test_the_guard_sees_a_head_written_into_a_data_dir(tmp_path: Path) -> None:
    folder = tmp_path / ".hoso-data"
    before = data_dir_state(folder)
    assert before == {} and data_dir_changes(folder, before) == []
    folder.mkdir()
    (folder / "ledger-heads.jsonl").write_text("")  # a size-0 file is a change too
    assert data_dir_changes(folder, before) == ["ledger-heads.jsonl"]
    state = data_dir_state(folder)
    with (folder / "ledger-heads.jsonl").open("a") as heads:
        heads.write('{"id": 1, "size": 0, "note": "..."}\n')
    assert data_dir_changes(folder, state) == ["ledger-heads.jsonl"]
