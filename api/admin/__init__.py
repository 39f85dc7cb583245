"""The admin area: pages under /admin and JSON under /api/v1/admin."""
