"""UPU S10 item identifiers: two letters, 8-digit serial, check digit, country code."""

from __future__ import annotations

from labels.errors import CheckDigitMismatch, InvalidItemId

_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# UPU reserves these first letters; BWIPP refuses them too, so a label printed with one
# would be rejected downstream even if we accepted it here.
_RESERVED_FIRST_LETTERS = frozenset("JKSTW")


def check_digit(serial8: str) -> int:
    """Return the S10 check digit of an 8-digit serial."""
    if len(serial8) != 8 or not serial8.isascii() or not serial8.isdigit():
        raise InvalidItemId(f"serial must be exactly 8 digits, got {serial8!r}")
    total = sum(int(d) * w for d, w in zip(serial8, _WEIGHTS, strict=True))
    r = total % 11
    if r == 0:
        return 5
    if r == 1:
        return 0
    return 11 - r


def _check_service(service: str) -> None:
    if len(service) != 2 or not service.isascii() or not service.isalpha():
        raise InvalidItemId(f"service indicator must be 2 letters A-Z, got {service!r}")
    if service[0] in _RESERVED_FIRST_LETTERS:
        raise InvalidItemId(
            f"service indicator {service!r} is reserved by the UPU "
            f"(first letter J, K, S, T or W is not allowed)"
        )


def make_item_id(service: str, serial: int, country: str = "VN") -> str:
    """Build a 13-character S10 identifier from a service indicator and a serial number."""
    service = service.upper()
    country = country.upper()
    _check_service(service)
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise InvalidItemId(f"country must be 2 letters A-Z, got {country!r}")
    if not 0 <= serial <= 99_999_999:
        raise InvalidItemId(f"serial must be between 0 and 99999999, got {serial}")
    serial8 = f"{serial:08d}"
    return f"{service}{serial8}{check_digit(serial8)}{country}"


def validate_item_id(raw: str) -> str:
    """Normalise a typed or scanned S10 identifier and return it, or say what is wrong.

    Spaces and lower case are accepted because people copy IDs from the spaced
    human-readable line (``RR 473 124 829 VN``) and scanners can be in lower-case mode.
    """
    code = "".join(raw.split()).upper()
    if len(code) != 13:
        raise InvalidItemId(
            f"item ID must be 13 characters (2 letters, 9 digits, 2 letters), "
            f"got {len(code)}: {raw!r}"
        )
    service, digits, country = code[:2], code[2:11], code[11:]
    if not (service.isascii() and service.isalpha()):
        raise InvalidItemId(f"item ID must start with 2 letters, got {service!r}")
    _check_service(service)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidItemId(f"characters 3-11 of the item ID must be digits, got {digits!r}")
    if not (country.isascii() and country.isalpha()):
        raise InvalidItemId(f"item ID must end with a 2-letter country code, got {country!r}")
    expected = check_digit(digits[:8])
    got = int(digits[8])
    if got != expected:
        raise CheckDigitMismatch(f"check digit should be {expected}, got {got} in {code}", code)
    return code


def format_item_id(code: str) -> str:
    """Group an item ID for the human-readable line: ``RR 473 124 829 VN``."""
    c = validate_item_id(code)
    return f"{c[:2]} {c[2:5]} {c[5:8]} {c[8:11]} {c[11:]}"
