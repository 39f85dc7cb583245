"""Errors raised by the labels library.

Every message names the field and what is wrong with it, because these messages travel
unchanged to a desk officer's screen or a courier's phone when a scan is rejected.
"""


class InvalidCode(ValueError):
    """An identifier, payload or label input that cannot be accepted."""


class InvalidItemId(InvalidCode):
    """A UPU S10 item identifier is malformed or has a wrong check digit."""


class CheckDigitMismatch(InvalidItemId):
    """A well-formed item ID whose check digit is wrong: a misread or mistyped digit."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidDossierCode(InvalidCode):
    """An agency dossier code (mã hồ sơ) is malformed."""


class InvalidCccd(InvalidCode):
    """A citizen ID number (CCCD) or the payload of its QR code is malformed."""


class InvalidVietQr(InvalidCode):
    """A VietQR payload cannot be built or parsed."""


class InvalidLabelData(InvalidCode):
    """Data handed to a label or document renderer cannot be printed as given."""
