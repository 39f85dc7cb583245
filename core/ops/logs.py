"""Logging, configured once per process: every line carries every structured field.

Our code logs through the standard library (``log.info("custody.batch_recorded",
extra={...})``) and so do uvicorn, SQLAlchemy and alembic; all of it goes through structlog's
formatter, which keeps the ``extra`` fields and adds whatever is bound to the context (the
request ID, see api/observability.py). Production writes one JSON object a line for a log
collector; the demo writes readable lines.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from core.settings import Settings

# Loggers that narrate routine work at INFO: only their problems matter here.
QUIET_LOGGERS = ("pgserver", "fontTools", "httpx", "httpcore")


def _uvicorn_fields(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """uvicorn formats its message from args and adds a terminal-coloured copy: keep the
    text, drop the tuple and the copy."""
    event_dict.pop("positional_args", None)
    event_dict.pop("color_message", None)
    return event_dict


def log_format(settings: Settings) -> str:
    if settings.log_format != "auto":
        return settings.log_format
    return "json" if settings.environment == "production" else "console"


def configure_logging(settings: Settings, stream: Any = None) -> None:
    """Route the standard library's logging and structlog to one handler on ``stream``."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _uvicorn_fields,
    ]
    renderer: Processor
    if log_format(settings) == "json":
        renderer = structlog.processors.JSONRenderer(default=str)
        exceptions: list[Processor] = [structlog.processors.dict_tracebacks]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        exceptions = []
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exceptions,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's loggers propagate to ours (serve passes log_config=None); the access log is
    # replaced by the request line of api/observability.py, which knows the request ID.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            *shared[:2],
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
