"""The admin area: HTML pages under /admin and the JSON API under /api/v1/admin."""
