"""Users administration: staff accounts, their bindings, devices and the audit log.

One set of services used by three edges: the admin pages (api/admin/pages.py), the JSON API
(api/admin/endpoints.py) and ``hoso admin …`` (core/admin/cli.py). Who may do what is
decided in ``core.admin.permissions``.
"""
