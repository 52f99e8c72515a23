"""Vendor of a MAC address from the IEEE OUI registry that netaddr ships.

Offline by design: the box may have no Internet, and the registry in the wheel is
enough to tell a Brother printer from an Epson projector's NIC vendor. Randomised
(locally-administered) MACs have no registered vendor, so we never guess one.
"""

from __future__ import annotations

from functools import lru_cache

from probes.base import clean_text, is_locally_administered, normalise_mac

_CACHE_SIZE = 4096  # entries: a large school has a few hundred OUIs at most


@lru_cache(maxsize=_CACHE_SIZE)
def _lookup_oui(prefix: str) -> str | None:
    from netaddr import EUI, NotRegisteredError

    try:
        org = EUI(prefix + ":00:00:00").oui.registration().org
    except (NotRegisteredError, ValueError, IndexError, KeyError):
        return None
    text = clean_text(str(org), limit=128)
    return text or None


def vendor_for(mac: str) -> str | None:
    """IEEE organisation for `mac`'s OUI, or None (unknown, invalid or locally administered)."""
    try:
        normalised = normalise_mac(mac)
    except ValueError:
        return None
    if is_locally_administered(normalised):
        return None
    return _lookup_oui(normalised[:8])
