FROM python:3.11-slim
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
RUN pip install --no-cache-dir -c constraints.txt -e .
ENV HOSO_ENVIRONMENT=production
EXPOSE 8000
CMD ["hoso", "serve", "--host", "0.0.0.0", "--port", "8000"]
