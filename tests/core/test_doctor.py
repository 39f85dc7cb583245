"""``hoso doctor`` and production's refusal to start on a wrong configuration (issue 16)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.custody.note import Signer
from core.db import DatabaseUrls
from core.ops.doctor import CONFIG_CHECKS, Probe, Problem, Severity, diagnose
from core.settings import Settings
from tests.receiver import Receiver, receiver

ROOT = Path(__file__).resolve().parents[2]
PRIVATE_SECRET = "k" * 48


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sms_gateway() -> Iterator[Receiver]:
    with receiver([200]) as gateway:
        yield gateway


# Keys of their own (``hoso ledger keygen``), not derived from the secret.
LEDGER_KEY = Signer.generate("hoso.bacninh.example.vn/custody-ledger").skey()
EVENT_KEY = Signer.generate("hoso.bacninh.example.vn/custody-ledger/events").skey()


def good_settings(database_url: str, sms_url: str) -> dict[str, str]:
    return {
        "HOSO_ENVIRONMENT": "production",
        "HOSO_SECRET_KEY": PRIVATE_SECRET,
        "HOSO_LEDGER_SIGNING_KEY": LEDGER_KEY,
        "HOSO_EVENT_SIGNING_KEY": EVENT_KEY,
        "HOSO_VIETQR_ACCOUNT": "0011004455667",
        "HOSO_SMS_SENDER": "webhook",
        "HOSO_SMS_WEBHOOK_URL": sms_url,
        "HOSO_PUBLIC_BASE_URL": "https://hoso.bacninh.example.vn",
        "DATABASE_URL": database_url,
    }


def settings_from(env: dict[str, str]) -> Settings:
    fields = {
        ("database_url" if k == "DATABASE_URL" else k.removeprefix("HOSO_").lower()): v
        for k, v in env.items()
    }
    return Settings.model_validate(fields)


def fatal_settings(settings: Settings) -> set[str]:
    return {p.setting for p in diagnose(settings) if p.severity is Severity.fatal}


def test_the_default_configuration_lists_each_fatal_problem() -> None:
    problems = diagnose(Settings.model_validate({}))
    assert {p.setting for p in problems if p.severity is Severity.fatal} == {
        "HOSO_SECRET_KEY",
        "HOSO_VIETQR_ACCOUNT",
        "HOSO_SMS_SENDER",
        "HOSO_PUBLIC_BASE_URL",
        "DATABASE_URL",
    }
    for problem in problems:  # Vietnamese first, then English, naming the setting
        line = problem.line()
        assert line.count(problem.setting) >= 1 and " / " in line
        assert problem.vi != problem.en


def test_a_correct_configuration_is_silent(database_url: str, sms_gateway: Receiver) -> None:
    assert diagnose(settings_from(good_settings(database_url, sms_gateway.url))) == []


def signing_key_warnings(settings: Settings) -> dict[str, Problem]:
    keys = ("HOSO_LEDGER_SIGNING_KEY", "HOSO_EVENT_SIGNING_KEY")
    return {p.setting: p for p in diagnose(settings, Probe(offline=True), CONFIG_CHECKS)
            if p.setting in keys}  # fmt: skip


def test_production_with_keys_derived_from_the_secret_is_warned_of_each() -> None:
    explicit = settings_from(good_settings("unused", "unused"))
    assert signing_key_warnings(explicit) == {}
    # None, not absent: the run's environment configures an event key for every test.
    derived = explicit.model_copy(update={"ledger_signing_key": None, "event_signing_key": None})
    warned = signing_key_warnings(derived)
    assert set(warned) == {"HOSO_LEDGER_SIGNING_KEY", "HOSO_EVENT_SIGNING_KEY"}
    for setting, problem in warned.items():
        assert problem.severity is Severity.warning  # production still starts: it signs
        assert f"{setting}_FILE" in problem.line() and "HOSO_SECRET_KEY" in problem.line()
        assert "leaked app secret forges ledger signatures" in problem.en
        assert "lộ khoá bí mật" in problem.vi
    assert "`hoso ledger keygen --name <origin>/events`" in warned["HOSO_EVENT_SIGNING_KEY"].en
    # A key file counts as a key of its own; only the missing one is named.
    one_file = derived.model_copy(update={"ledger_signing_key_file": Path("/run/secrets/k")})
    assert set(signing_key_warnings(one_file)) == {"HOSO_EVENT_SIGNING_KEY"}
    # Outside production the derived keys are the point (the demo, the tests): no warning.
    assert signing_key_warnings(derived.model_copy(update={"environment": "development"})) == {}


def test_the_doctor_command_warns_of_derived_keys_and_still_passes(
    database_url: str, sms_gateway: Receiver
) -> None:
    env = good_settings(database_url, sms_gateway.url)
    del env["HOSO_LEDGER_SIGNING_KEY"], env["HOSO_EVENT_SIGNING_KEY"]
    done = run_hoso("doctor", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [
        "[CẢNH BÁO/WARNING] HOSO_LEDGER_SIGNING_KEY",
        "[CẢNH BÁO/WARNING] HOSO_EVENT_SIGNING_KEY",
    ], lines


def test_the_ledger_owner_as_app_role_is_fatal(
    database_urls: DatabaseUrls, sms_gateway: Receiver
) -> None:
    assert database_urls.owner is not None
    settings = settings_from(good_settings(database_urls.owner, sms_gateway.url))
    [problem] = [p for p in diagnose(settings) if p.severity is Severity.fatal]
    assert problem.setting == "DATABASE_URL" and "owns the ledger" in problem.en


@pytest.mark.skipif(
    not os.environ.get("HOSO_TEST_DATABASE_URL"), reason="needs the test server's superuser URL"
)
def test_a_superuser_database_role_is_fatal(sms_gateway: Receiver) -> None:
    server = os.environ["HOSO_TEST_DATABASE_URL"]
    settings = settings_from(good_settings(server, sms_gateway.url))
    lines = [p.en for p in diagnose(settings) if p.setting == "DATABASE_URL"]
    assert any("is a superuser" in line for line in lines), lines


def test_an_unreachable_database_is_fatal(sms_gateway: Receiver) -> None:
    url = f"postgresql://hoso_app@127.0.0.1:{closed_port()}/hoso"
    [problem] = diagnose(settings_from(good_settings(url, sms_gateway.url)))
    assert problem.setting == "DATABASE_URL" and "cannot reach the database" in problem.en


def test_unreachable_gateways_are_named(database_url: str, sms_gateway: Receiver) -> None:
    env = good_settings(database_url, f"http://127.0.0.1:{closed_port()}/sms")
    env |= {"HOSO_ROAD_ROUTER": "osrm", "HOSO_ROAD_ROUTER_URL": f"http://127.0.0.1:{closed_port()}"}
    problems = {p.setting: p.severity for p in diagnose(settings_from(env), Probe(1.0))}
    # The SMS gateway carries citizens' sign-in codes; the road router has a fallback.
    assert problems == {
        "HOSO_SMS_WEBHOOK_URL": Severity.fatal,
        "HOSO_ROAD_ROUTER_URL": Severity.warning,
    }


def test_an_unreachable_brandname_sms_provider_is_fatal(database_url: str) -> None:
    # HOSO_SMS_SENDER=http carries the sign-in codes as surely as the webhook does.
    env = good_settings(database_url, "unused") | {
        "HOSO_SMS_SENDER": "http",
        "HOSO_SMS_HTTP_URL": f"http://127.0.0.1:{closed_port()}/sms/send",
    }
    del env["HOSO_SMS_WEBHOOK_URL"]
    [problem] = diagnose(settings_from(env), Probe(1.0))
    assert (problem.setting, problem.severity) == ("HOSO_SMS_HTTP_URL", Severity.fatal)
    assert "cannot connect" in problem.en


def run_hoso(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only the given settings; but the run's data dir, so nothing lands in the checkout's.
    keep = ("HOSO_DATA_DIR",)
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("HOSO_", "DATABASE_")) or k in keep
    }
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_doctor_command_is_silent_on_a_correct_configuration(
    database_url: str, sms_gateway: Receiver
) -> None:
    done = run_hoso("doctor", env=good_settings(database_url, sms_gateway.url))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_production_serve_refuses_a_fatal_problem_with_the_doctors_line(
    database_url: str, sms_gateway: Receiver
) -> None:
    env = good_settings(database_url, sms_gateway.url) | {"HOSO_SMS_SENDER": "console"}
    doctor = run_hoso("doctor", env=env)
    serve = run_hoso("serve", "--port", str(closed_port()), env=env)
    assert doctor.returncode == 1 and serve.returncode == 1
    [line] = doctor.stderr.splitlines()
    assert line.startswith("[LỖI/FATAL] HOSO_SMS_SENDER: ")
    assert line in serve.stderr.splitlines()
    assert "Traceback" not in serve.stderr


def test_a_malformed_setting_is_one_line_naming_it(database_url: str) -> None:
    done = run_hoso("migrate", env={"DATABASE_URL": database_url, "HOSO_OUTBOX_MAX_ATTEMPTS": "x"})
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("[LỖI/FATAL] HOSO_OUTBOX_MAX_ATTEMPTS: ") and "'x'" in line


def test_the_default_secret_in_production_is_one_line(database_url: str) -> None:
    done = run_hoso("worker", "--once", env={"DATABASE_URL": database_url,
                                            "HOSO_ENVIRONMENT": "production"})  # fmt: skip
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("[LỖI/FATAL] HOSO_SECRET_KEY: ")
