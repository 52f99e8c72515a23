"""Vendor of a MAC address from the IEEE OUI registry that netaddr ships.

Offline by design: the box may have no Internet, and the registry in the wheel is
enough to tell a Brother printer from an Epson projector's NIC vendor. Randomised
(locally-administered) MACs have no registered vendor, so we never guess one.

netaddr's own lookup (`EUI(mac).oui`) loads its whole index into a dict of ~35,000
lists the first time (~14 MB of RSS for the daemon's lifetime) to answer a few dozen
questions per school. We read the same two files netaddr ships instead: `oui.idx`
(`key,offset,size` per record) is searched as bytes for the one key asked, and the
record is read from `oui.txt` at that offset. Nothing stays in memory but the answers.
Records are parsed as netaddr parses them (`netaddr.eui.OUI._parse_data`): the org is
what follows `(hex)` on the record's first line; with several registrations for one
OUI, the first in the index wins, as with netaddr's `registration(0)`.
"""

from __future__ import annotations

import importlib.util
import mmap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from probes.base import clean_text, is_locally_administered, normalise_mac

_CACHE_SIZE = 4096  # entries: a large school has a few hundred OUIs at most
_MAX_RECORD = 4096  # bytes: registry records are a few hundred; a corrupt index must not read MBs


@dataclass(frozen=True)
class OuiRegistry:
    """The registry files; paths are parameters so tests can hand in a small fake tree."""

    index: Path
    records: Path

    def lookup(self, oui: int) -> str | None:
        """The organisation registered for the 24-bit `oui`, or None."""
        offset, size = self._locate(oui) or (-1, 0)
        if offset < 0:
            return None
        with self.records.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(min(size, _MAX_RECORD)).decode("utf-8", errors="replace")
        for line in data.splitlines():
            if "(hex)" in line:
                parts = line.strip().split(None, 2)
                return parts[2] if len(parts) == 3 else None
        return None

    def _locate(self, oui: int) -> tuple[int, int] | None:
        """The first `offset,size` of `oui` in the index (keys are decimal, unsorted)."""
        key = b"%d," % oui
        with self.index.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            if m[: len(key)] == key:
                start = 0
            else:
                at = m.find(b"\n" + key)
                if at < 0:
                    return None
                start = at + 1
            end = m.find(b"\n", start)
            line = m[start : end if end >= 0 else len(m)].decode("ascii", errors="replace")
        try:
            _key, offset, size = (int(part) for part in line.split(","))
        except ValueError:
            return None
        return offset, size


def netaddr_registry() -> OuiRegistry | None:
    """netaddr's files, found without importing netaddr (its import loads the index)."""
    spec = importlib.util.find_spec("netaddr")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "eui"
    registry = OuiRegistry(index=folder / "oui.idx", records=folder / "oui.txt")
    return registry if registry.index.is_file() and registry.records.is_file() else None


@lru_cache(maxsize=1)
def _default_registry() -> OuiRegistry | None:
    return netaddr_registry()


@lru_cache(maxsize=_CACHE_SIZE)
def _lookup_oui(prefix: str) -> str | None:
    registry = _default_registry()
    if registry is None:
        return None
    try:
        org = registry.lookup(int(prefix.replace(":", ""), 16))
    except (OSError, ValueError):
        return None
    text = clean_text(org, limit=128) if org else ""
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
