"""Money at the bank's edge: bank statements, the bank's signed notifications, the queue of bank
lines and refunds, and the reconciliation report (JSON, pages, exports)."""
