"""The courier's side of the journeys: devices, door-step checks, location pings, run sheet.

HTTP lives in ``mobile_api/``; this package knows none of it.
"""
