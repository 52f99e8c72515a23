"""The seek-based OUI lookup answers exactly what netaddr answers, without its index in memory."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from netaddr import EUI, NotRegisteredError
from netaddr.eui import ieee

from probes.base import clean_text
from probes.oui import OuiRegistry, netaddr_registry, vendor_for


def _netaddr_org(oui: int) -> str | None:
    try:
        org = EUI(f"{oui:06x}000000").oui.registration().org
    except (NotRegisteredError, IndexError):
        return None
    return clean_text(str(org), limit=128) or None


def test_same_answers_as_netaddr_for_a_sample_of_the_registry() -> None:
    registry = netaddr_registry()
    assert registry is not None
    keys = random.Random(7).sample(sorted(ieee.OUI_INDEX), 400)
    duplicated = [k for k, rows in ieee.OUI_INDEX.items() if len(rows) > 1]
    for oui in [*keys, *duplicated, 0x000000, 0xFFFFFE]:
        found = registry.lookup(oui)
        assert (clean_text(found, limit=128) or None if found else None) == _netaddr_org(oui), oui


def test_vendor_for_known_unknown_and_private_macs() -> None:
    assert vendor_for("00:00:0c:12:34:56") == _netaddr_org(0x00000C)  # Cisco
    assert vendor_for("not a mac") is None
    assert vendor_for("02:00:0c:12:34:56") is None  # locally administered: no vendor


def test_a_small_registry_tree(tmp_path: Path) -> None:
    records = (
        b"OUI/MA-L\t\t\tOrganization\n"
        b"00-11-22   (hex)\t\tFirst Org\n001122     (base 16)\t\tFirst Org\n\t\t\tStreet\n\n"
        b"AA-BB-CC   (hex)\t\tSecond Org\nAABBCC     (base 16)\t\tSecond Org\n\n"
    )
    first = records.index(b"00-11-22")
    second = records.index(b"AA-BB-CC")
    (tmp_path / "oui.txt").write_bytes(records)
    (tmp_path / "oui.idx").write_text(
        f"{0xAABBCC},{second},{len(records) - second}\n{0x001122},{first},{second - first}\n"
    )
    registry = OuiRegistry(index=tmp_path / "oui.idx", records=tmp_path / "oui.txt")
    assert registry.lookup(0x001122) == "First Org"
    assert registry.lookup(0xAABBCC) == "Second Org"
    assert registry.lookup(0x112233) is None
    assert registry.lookup(196) is None  # the tail of "11189196,": keys match whole lines


def test_lookups_do_not_import_netaddr() -> None:
    """The daemon merges inventories with vendor lookups: netaddr must stay out of it."""
    code = (
        "import sys; from probes.oui import vendor_for; "
        "assert vendor_for('00:00:0c:00:00:01'); print('netaddr' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
