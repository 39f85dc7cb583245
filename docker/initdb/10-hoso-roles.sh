#!/bin/sh
# Run once by the postgres image when the data volume is first created: the two roles of
# core/db.py. hoso_owner owns the database and runs the migrations; hoso_app is what the app
# and the worker connect as, and only gets the rights `hoso migrate` grants it (it may read
# and append to the custody ledger, never change or remove it).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$HOSO_OWNER_DB_PASSWORD" -v app_password="$HOSO_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE hoso_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE hoso_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE hoso OWNER TO hoso_owner;
REVOKE ALL ON DATABASE hoso FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE hoso TO hoso_app;
\connect hoso
ALTER SCHEMA public OWNER TO hoso_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO hoso_app;
SQL
