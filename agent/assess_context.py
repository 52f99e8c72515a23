"""What every evaluator needs to know about the school, computed once per assessment.

Discovery cannot tell which room a networked device is in; staff can, by naming
discovered devices in a declared room (`devices = ["10.0.0.21"]`). Placement is
resolved here once so every criterion agrees on which device is where.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.assess_model import AssessedDevice, AssessmentInput, WifiOnTime
from agent.config import DeclaredClassroom, SchoolSize
from agent.referential import Referential

HEAD_OFFICE = "bureau de direction"  # room of devices listed in declared.head_office


@dataclass(frozen=True)
class Context:
    inp: AssessmentInput
    referential: Referential
    size: SchoolSize
    placement: dict[str, str | None]
    wifi: WifiOnTime | None

    @property
    def classes(self) -> int:
        return self.inp.school.classes

    @property
    def classrooms(self) -> list[DeclaredClassroom]:
        return [room for room in self.inp.declared.classrooms if room.kind == "classroom"]

    @property
    def inventory_declared(self) -> bool:
        """Staff filled in an inventory: then a missing item is missing, not unknown."""
        return bool(self.inp.declared.classrooms or self.inp.declared.mobile_packs)

    def room_of(self, device: AssessedDevice) -> str | None:
        return self.placement.get(device.id)

    def in_room(self, room: str, devices: list[AssessedDevice]) -> list[AssessedDevice]:
        return [device for device in devices if self.room_of(device) == room]

    def unplaced(self, devices: list[AssessedDevice]) -> list[AssessedDevice]:
        classroom_names = {room.name for room in self.classrooms}
        return [device for device in devices if self.room_of(device) not in classroom_names]

    def room_kind(self, name: str | None) -> str | None:
        for room in self.inp.declared.classrooms:
            if room.name == name:
                return room.kind
        return "head_office" if name == HEAD_OFFICE else None


def place_devices(inp: AssessmentInput) -> dict[str, str | None]:
    """Device id → room name: the device's own room if the builder knew it, else the
    declared room that names it (by id, IP, MAC or name), else None."""
    placement: dict[str, str | None] = {}
    for device in inp.devices:
        room = device.room
        if room is None:
            room = _declared_room(inp, device)
        placement[device.id] = room
    return placement


def _declared_room(inp: AssessmentInput, device: AssessedDevice) -> str | None:
    for room in inp.declared.classrooms:
        if any(device.known_as(name) for name in (*room.devices, *room.wifi_access_points)):
            return room.name
    if any(device.known_as(name) for name in inp.declared.head_office.devices):
        return HEAD_OFFICE
    return None
