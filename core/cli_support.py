"""What every ``hoso`` subcommand shares: the ``--data-dir`` option and how a command finds
its settings and database. Apart from ``core.cli`` so that command groups mounted there
(``core.agency.cli``) use it without importing the module that mounts them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from core.db import database_url, make_engine, make_sessionmaker
from core.settings import Settings, get_settings

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Embedded PostgreSQL folder, used when DATABASE_URL is unset "
                 "(default ./.hoso-data)."),
]  # fmt: skip


def settings_for(data_dir: Path | None) -> Settings:
    if data_dir is not None:
        # uvicorn builds the web app from get_settings() in its own import; the environment
        # is how that app learns the folder this command was given.
        os.environ["HOSO_DATA_DIR"] = str(data_dir)
        get_settings.cache_clear()
    return get_settings()


def database_for(settings: Settings) -> tuple[str, sessionmaker[Session]]:
    url = database_url(settings)
    return url, make_sessionmaker(make_engine(url))
