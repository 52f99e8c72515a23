"""Turn SNMP values from untrusted agents into clean Python facts, or into nothing.

Why a module of its own: devices lie about types (a string where an integer is
due, a 64 KB sysDescr, Latin-1 bytes, a four-byte IpAddress where text is
expected). Each converter returns None for anything it cannot trust, so the
collector skips that one fact instead of crashing or storing garbage.
"""

from __future__ import annotations

from typing import Any

from pysnmp.proto import rfc1902
from pysnmp.proto.rfc1902 import univ  # pyasn1's base types via pysnmp: no pyasn1 stubs needed

from probes.base import clean_text, normalise_mac

_MAC_BYTES = 6
_NOT_TEXT = (rfc1902.IpAddress, rfc1902.Bits, rfc1902.Opaque)  # OCTET STRINGs that are not text


def is_absent(value: Any) -> bool:
    """noSuchObject, noSuchInstance, endOfMibView and NULL all mean: nothing here."""
    return value is None or isinstance(value, univ.Null)  # the exceptions subclass NULL


def _octets(value: Any) -> bytes | None:
    if not isinstance(value, univ.OctetString) or isinstance(value, _NOT_TEXT):
        return None
    try:
        return bytes(value.asOctets())
    except Exception:  # an OctetString object without a value
        return None


def as_text(value: Any) -> str | None:
    """Printable, capped text from an OCTET STRING; None for any other type or empty."""
    raw = _octets(value)
    if raw is None:
        return None
    text = clean_text(raw)
    return text or None


def as_int(value: Any) -> int | None:
    """An INTEGER/Gauge/Counter/TimeTicks as int; None for strings and everything else."""
    if isinstance(value, univ.Integer):  # Integer32, Gauge32, Counter32/64, TimeTicks
        try:
            return int(value)
        except Exception:  # an Integer object without a value
            return None
    return None


def as_oid(value: Any) -> str | None:
    """An OBJECT IDENTIFIER value as dotted text; None for any other type."""
    if isinstance(value, univ.ObjectIdentifier):
        try:
            return ".".join(str(part) for part in value.asTuple())
        except Exception:  # an OID object without a value
            return None
    return None


def as_mac(value: Any) -> str | None:
    """ifPhysAddress bytes → `aa:bb:cc:dd:ee:ff`; None for empty, all-zero or odd lengths."""
    raw = _octets(value)
    if raw is None or len(raw) != _MAC_BYTES or raw == b"\x00" * _MAC_BYTES:
        return None
    return normalise_mac(raw.hex())


def timeticks_to_s(value: Any) -> float | None:
    """sysUpTime is in hundredths of a second."""
    ticks = as_int(value)
    return None if ticks is None or ticks < 0 else ticks / 100.0


def supply_percent(level: int | None, maximum: int | None) -> float | None:
    """Percent remaining, or None when unknown.

    RFC 3805: level −2 is "unknown", −3 is "some remaining" (no number), and a max
    capacity ≤ 0 (−1 unlimited, −2 unknown) gives nothing to divide by.
    """
    if level is None or maximum is None or level < 0 or maximum <= 0:
        return None
    return round(min(100.0, 100.0 * level / maximum), 1)
