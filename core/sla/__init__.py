"""Service quality (SLA): measures read back from the custody ledger, rolled up per day in
PostgreSQL, shown per level and filed as a monthly report. See docs/sla.md."""
