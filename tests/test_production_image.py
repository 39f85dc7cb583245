"""The production image and compose file (issue 16): PostgreSQL 16, a one-shot migration job
as the owner role, app and worker as the app role, restart policies and health checks; the
image multi-stage, non-root, without the demo's embedded PostgreSQL.

``docker compose config`` (or ``docker-compose config``, Debian's package) validates the file
when either is installed; the structure is then checked from the YAML as well, so a machine
without Docker still checks everything but the Compose schema.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, make_url, text

from core.db import to_sqlalchemy_url

ROOT = Path(__file__).resolve().parents[1]
REQUIRED_ENV = {
    "HOSO_SECRET_KEY": "k" * 48,
    "HOSO_PUBLIC_BASE_URL": "https://hoso.bacninh.example.vn",
    "HOSO_VIETQR_BANK_BIN": "970415",
    "HOSO_VIETQR_ACCOUNT": "0011004455667",
    "HOSO_VIETQR_ACCOUNT_NAME": "BUU DIEN TINH BAC NINH",
    "HOSO_APP_DB_PASSWORD": "app-password",
    "HOSO_OWNER_DB_PASSWORD": "owner-password",
    "POSTGRES_PASSWORD": "postgres-password",
}


def compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def compose_file() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_config_passes_with_the_settings_and_refuses_without() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed; "
                    "test_compose_structure checks the YAML instead")  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", **REQUIRED_ENV}
    done = subprocess.run([*command, "config", "-q"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    missing = {k: v for k, v in env.items() if k != "HOSO_SECRET_KEY"}
    refused = subprocess.run([*command, "config", "-q"], cwd=ROOT, env=missing,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode != 0 and "HOSO_SECRET_KEY" in refused.stderr


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping (the shared settings merge into it)"
    return env


def test_compose_structure() -> None:
    services = compose_file()["services"]
    assert set(services) == {"db", "migrate", "app", "worker"}
    assert services["db"]["image"] == "postgres:16"
    assert any("docker-entrypoint-initdb.d" in v for v in services["db"]["volumes"])
    # Migrations as the owner; the app and the worker never get the owner's URL.
    assert "DATABASE_OWNER_URL" in environment(services["migrate"])
    assert "hoso_owner" in environment(services["migrate"])["DATABASE_OWNER_URL"]
    assert services["migrate"]["restart"] == "no"
    for name in ("app", "worker"):
        service = services[name]
        env = environment(service)
        assert "DATABASE_OWNER_URL" not in env, name
        assert env["DATABASE_URL"].startswith("postgresql://hoso_app:"), name
        assert env["HOSO_ENVIRONMENT"] == "production"
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
        assert service["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }, name
        # The ledger's own keys reach both (events are signed in each; the app publishes the
        # heads key), and the signed heads outlive the container.
        assert {"HOSO_LEDGER_SIGNING_KEY", "HOSO_EVENT_SIGNING_KEY"} <= set(env), name
        assert env["HOSO_DATA_DIR"] == "/var/lib/hoso", name
        assert "hosodata:/var/lib/hoso" in service["volumes"], name
    assert "hosodata" in compose_file()["volumes"]
    assert services["db"]["healthcheck"]["test"]
    # One image, built once, run by three services.
    assert [s.get("image") for s in services.values() if "build" in s] == ["hoso:latest"]
    assert {services[n]["image"] for n in ("migrate", "app", "worker")} == {"hoso:latest"}


def test_the_roles_script_makes_the_two_roles_of_core_db() -> None:
    script = (ROOT / "docker" / "initdb" / "10-hoso-roles.sh").read_text()
    # The names compose's DATABASE_URL and DATABASE_OWNER_URL use, unless changed by hand.
    for default in ('db="${HOSO_DB_NAME:-hoso}"', 'owner="${HOSO_OWNER_ROLE:-hoso_owner}"',
                    'app="${HOSO_APP_ROLE:-hoso_app}"'):  # fmt: skip
        assert default in script
    for statement in ('CREATE ROLE :"owner" LOGIN NOSUPERUSER',
                      'CREATE ROLE :"app" LOGIN NOSUPERUSER',
                      'ALTER DATABASE :"db" OWNER TO :"owner"',
                      "REVOKE CREATE ON SCHEMA public FROM PUBLIC"):  # fmt: skip
        assert statement in script


@pytest.mark.skipif(
    not os.environ.get("HOSO_TEST_DATABASE_URL") or shutil.which("psql") is None,
    reason="needs psql and the test server's superuser URL",
)
def test_the_roles_script_runs_by_hand_against_a_server_as_the_readme_says() -> None:
    """README's no-Docker block: createdb, then the script with PGHOST and the passwords;
    here with names of its own, as on a server that already has a `hoso`."""
    server = make_url(to_sqlalchemy_url(os.environ["HOSO_TEST_DATABASE_URL"]))
    name = f"hoso_roles_{uuid.uuid4().hex[:8]}"
    owner, app = f"{name}_owner", f"{name}_app"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    env = {**os.environ, "PGHOST": server.host or "127.0.0.1", "PGPORT": str(server.port or 5432),
           "POSTGRES_USER": server.username or "postgres", "HOSO_DB_NAME": name,
           "HOSO_OWNER_ROLE": owner, "HOSO_APP_ROLE": app,
           "HOSO_OWNER_DB_PASSWORD": "owner-pw-1", "HOSO_APP_DB_PASSWORD": "app-pw-1"}  # fmt: skip
    if server.password:
        env["PGPASSWORD"] = server.password
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        done = subprocess.run(["sh", str(ROOT / "docker" / "initdb" / "10-hoso-roles.sh")],
                              env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 0, done.stderr
        as_app = create_engine(server.set(database=name, username=app, password="app-pw-1"))
        try:
            with as_app.connect() as conn:
                owner_of_db = conn.execute(
                    text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :d"),
                    {"d": name},
                ).scalar()
                may_create = conn.execute(
                    text("SELECT has_schema_privilege(current_user, 'public', 'CREATE')")
                ).scalar()
        finally:
            as_app.dispose()
        assert (owner_of_db, may_create) == (owner, False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


def test_the_image_is_multi_stage_non_root_and_without_the_demo_extras() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [ln for ln in lines if ln.startswith("FROM ")]
    assert len(stages) >= 2
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    installs = " ".join(ln for ln in lines if "pip install" in ln)
    assert "-e ." in installs and "[" not in installs  # runtime dependencies only, no extras
    pyproject = (ROOT / "pyproject.toml").read_text()
    runtime = pyproject.split("[project.optional-dependencies]")[0]
    for demo_only in ("pgserver", "vietnamadminunits", "pytest", "playwright"):
        assert demo_only not in runtime, demo_only
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".hoso-data", ".git"} <= set(ignored)
