"""The kit both HTTP edges share (``api`` for browsers and agencies, ``mobile_api`` for phones):
request dependencies (settings, the request's transaction, the clock) and the one JSON shape
of a domain error. Both edges import it; it imports neither, and neither edge imports the
other, except that ``api.app`` assembles the one ASGI app and mounts ``mobile_api``'s router.
"""
