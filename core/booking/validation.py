"""Checks of what a citizen types, each failure naming its field in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import DomainError, InvalidInput


@dataclass
class FieldErrors:
    """Errors gathered over a whole form, so the page can show each beside its field.

    A field's error is either a (Vietnamese, English) pair written here, or a refusal raised
    by a shared check (``refuse``), whose words the edge takes from its catalogue
    (``edge/texts``) by the refusal's reason.
    """

    messages: dict[str, tuple[str, str] | DomainError] = field(default_factory=dict)

    def add(self, name: str, vi: str, en: str) -> None:
        self.messages.setdefault(name, (vi, en))

    def refuse(self, name: str, error: DomainError) -> None:
        self.messages.setdefault(name, error)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_if_any(self) -> None:
        if self.messages:
            raise BookingInvalid(self.messages)


class BookingInvalid(InvalidInput):
    """Every invalid field of a booking; ``field`` is the first, for the JSON error body, and
    the first's reason is the error's (``messages`` holds them all)."""

    def __init__(self, messages: dict[str, tuple[str, str] | DomainError]) -> None:
        first = next(iter(messages))
        detail = "; ".join(f"{name}: {_english(text)}" for name, text in messages.items())
        head = messages[first]
        super().__init__(
            detail,
            field=first,
            reason=head.reason if isinstance(head, DomainError) else None,
            params=head.params if isinstance(head, DomainError) else None,
        )
        self.messages = dict(messages)
        if not isinstance(head, DomainError):
            self.detail_vi = head[0]


def _english(text: tuple[str, str] | DomainError) -> str:
    return text.detail if isinstance(text, DomainError) else text[1]


def normalise_phone(raw: str) -> str | None:
    """A Vietnamese mobile number as ten digits starting with 0, or None if it is not one.

    Accepts spaces, dots, dashes and the +84 / 84 prefixes people type.
    """
    digits = "".join(ch for ch in raw if ch.isdigit())
    if raw.strip().startswith("+84") or (len(digits) == 11 and digits.startswith("84")):
        digits = "0" + digits[2:]
    if len(digits) != 10 or digits[0] != "0" or digits[1] not in "35789":
        return None
    return digits


def phone_or_error(raw: str, field_name: str = "phone") -> str:
    phone = normalise_phone(raw)
    if phone is None:
        raise InvalidInput(
            "a Vietnamese mobile number has 10 digits starting with 03, 05, 07, 08 or 09",
            field=field_name,
        )
    return phone
