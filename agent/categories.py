"""The device categories every stage speaks: discovery classifies into them, the
referential judges with them, the snapshot and the status page list them."""

from __future__ import annotations

from typing import Literal, get_args

DeviceCategory = Literal[
    "projector",
    "interactive_display",
    "presentation_device",
    "printer",
    "mfp",
    "scanner",
    "nas",
    "access_point",
    "wlan_controller",
    "switch",
    "router",
    "computer",
    "tablet_or_phone",
    "camera",
    "unknown",
]
CATEGORIES: tuple[str, ...] = get_args(DeviceCategory)
# People's own devices: counted by kind, never listed or sent (DESIGN.md, privacy).
PERSONAL_CATEGORIES: frozenset[str] = frozenset({"computer", "tablet_or_phone"})
