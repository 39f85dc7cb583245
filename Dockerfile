# The production image: runtime dependencies only (no embedded PostgreSQL, no test tools),
# run as an unprivileged user. Build: docker compose build (see README, "Run it for a province").

# -- build: resolve and install into a virtualenv --------------------------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
WORKDIR /app
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY core core
COPY api api
COPY mobile_api mobile_api
COPY edge edge
COPY routing routing
COPY labels labels
COPY vntime vntime
COPY migrations migrations
# Editable: the migrations live next to the packages (core/migrate.py finds them there).
RUN /opt/venv/bin/pip install -c constraints.txt -e . \
    # pyvrp declares matplotlib for its plotting module, which hoso never imports.
    && /opt/venv/bin/pip uninstall -y matplotlib contourpy cycler kiwisolver \
    && /opt/venv/bin/python -c "import api.app, core.dispatch.service, pyvrp, vroom"

# -- runtime ---------------------------------------------------------------------------------
FROM python:3.11-slim
# Tesseract and its Vietnamese data: the digitised dossiers' searchable text layer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-vie \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 hoso \
    && useradd --system --uid 10001 --gid hoso --home-dir /app --no-create-home hoso \
    # The data dir (signed ledger heads): a volume in compose, writable by hoso; a fresh
    # named volume takes this ownership from the image.
    && mkdir -p /var/lib/hoso && chown hoso:hoso /var/lib/hoso
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOSO_ENVIRONMENT=production \
    HOSO_DATA_DIR=/var/lib/hoso
USER hoso
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --retries=10 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["hoso", "serve", "--host", "0.0.0.0", "--port", "8000"]
