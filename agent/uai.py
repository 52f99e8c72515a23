"""UAI (Unité administrative immatriculée): the national identifier of a French school.

Seven characters (three for the département, four digits) and a check letter:
the seven-digit number modulo 23, mapped onto the alphabet without I, O and Q.
"""

from __future__ import annotations

import re

_CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: I, O, Q are left out
_UAI_PATTERN = re.compile(r"^(\d{7})([A-Z])$")


def uai_check_letter(digits: str) -> str:
    return _CHECK_LETTERS[int(digits) % 23]


def validate_uai(value: str) -> str:
    """Return the UAI upper-cased, or raise ValueError saying what is wrong."""
    candidate = value.strip().upper()
    match = _UAI_PATTERN.match(candidate)
    if match is None:
        raise ValueError("expected a UAI: 7 digits and a check letter, like 0751234J")
    digits, letter = match.groups()
    expected = uai_check_letter(digits)
    if letter != expected:
        raise ValueError(f"wrong check letter: {digits} needs {expected}")
    return candidate
