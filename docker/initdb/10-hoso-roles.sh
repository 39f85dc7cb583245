#!/bin/sh
# Run once by the postgres image when the data volume is first created: the two roles of
# core/db.py. hoso_owner owns the database and runs the migrations; hoso_app is what the app
# and the worker connect as, and only gets the rights `hoso migrate` grants it (it may read
# and append to the custody ledger, never change or remove it).
# Run by hand against a server that already has a `hoso` (a second deployment, a trial), the
# names can be changed: HOSO_DB_NAME, HOSO_OWNER_ROLE, HOSO_APP_ROLE.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$HOSO_OWNER_DB_PASSWORD" -v app_password="$HOSO_APP_DB_PASSWORD" \
    -v db="${HOSO_DB_NAME:-hoso}" -v owner="${HOSO_OWNER_ROLE:-hoso_owner}" \
    -v app="${HOSO_APP_ROLE:-hoso_app}" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
\connect :db
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
SQL
