"""The production image and compose file (issue 16): PostgreSQL 16, a one-shot migration job
as the owner role, app and worker as the app role, restart policies and health checks; the
image multi-stage, non-root, without the demo's embedded PostgreSQL.

``docker compose config`` (or ``docker-compose config``, Debian's package) validates the file
when either is installed; the structure is then checked from the YAML as well, so a machine
without Docker still checks everything but the Compose schema.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

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
    assert services["db"]["healthcheck"]["test"]
    # One image, built once, run by three services.
    assert [s.get("image") for s in services.values() if "build" in s] == ["hoso:latest"]
    assert {services[n]["image"] for n in ("migrate", "app", "worker")} == {"hoso:latest"}


def test_the_roles_script_makes_the_two_roles_of_core_db() -> None:
    script = (ROOT / "docker" / "initdb" / "10-hoso-roles.sh").read_text()
    for statement in ("CREATE ROLE hoso_owner LOGIN NOSUPERUSER",
                      "CREATE ROLE hoso_app LOGIN NOSUPERUSER",
                      "ALTER DATABASE hoso OWNER TO hoso_owner",
                      "REVOKE CREATE ON SCHEMA public FROM PUBLIC"):  # fmt: skip
        assert statement in script


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
