"""School-wide criteria: mobile equipment and its kit, the head's office, storage.

These are mostly declared (a tablet pack asleep in its trolley is invisible); discovery
adds what it can see — a NAS, a mirroring box, an access point, a scanning copier — and
each item says which of the two it came from.
"""

from __future__ import annotations

import math

from agent.assess_context import HEAD_OFFICE, Context
from agent.assess_model import AssessedDevice, Item, Outcome, Status, text
from agent.assess_rooms import coverage_status
from agent.config import DeclaredMobilePack
from agent.referential import (
    CriterionSpec,
    HeadOfficeSpec,
    KitItem,
    MobileKitSpec,
    MobileSpec,
    StorageSpec,
)

_KIT_FR: dict[str, str] = {
    "wifi_access_point": "point d'accès Wi-Fi",
    "sharing_device": "dispositif de partage local (NAS…)",
    "projection_device": "dispositif de projection multi-écrans",
    "control_software": "logiciel de contrôle des postes",
}
_KIT_EN: dict[str, str] = {
    "wifi_access_point": "Wi-Fi access point",
    "sharing_device": "local sharing device (NAS…)",
    "projection_device": "multi-screen projection device",
    "control_software": "classroom control software",
}
_KIT_CATEGORIES: dict[str, frozenset[str]] = {
    "wifi_access_point": frozenset({"access_point", "wlan_controller"}),
    "sharing_device": frozenset({"nas"}),
    "projection_device": frozenset({"presentation_device"}),
    "control_software": frozenset(),
}
_STORAGE_FR = {"ent": "ENT", "cloud": "cloud", "school_server": "serveur d'école", "nas": "NAS"}


def _pack_name(index: int, pack: DeclaredMobilePack) -> str:
    return pack.name or f"pack {index + 1} ({pack.devices} {pack.kind})"


def evaluate_mobile(ctx: Context, spec: CriterionSpec) -> Outcome:
    assert isinstance(spec, MobileSpec)
    packs = ctx.inp.declared.mobile_packs
    problems_fr: list[str] = []
    problems_en: list[str] = []
    items: list[Item] = []
    valid = 0
    for index, pack in enumerate(packs):
        name = _pack_name(index, pack)
        items.append(
            Item(label=name, source="declared", evidence=[f"{pack.devices} × {pack.os or '?'}"])
        )
        if pack.devices < spec.pack_min_devices:
            problems_fr.append(f"« {name} » n'a que {pack.devices} appareils")
            problems_en.append(f"“{name}” has only {pack.devices} devices")
        elif pack.mixed_os:
            problems_fr.append(f"« {name} » mélange plusieurs systèmes d'exploitation")
            problems_en.append(f"“{name}” mixes operating systems")
        else:
            valid += 1
    free_rooms = [
        room for room in ctx.classrooms if room.free_access_devices >= spec.free_access_min_per_room
    ]
    items.extend(
        Item(
            label=room.name,
            room=room.name,
            source="declared",
            evidence=[f"{room.free_access_devices} appareils en accès libre"],
        )
        for room in free_rooms
    )
    seen = ctx.inp.personal("tablet_or_phone")
    evidence = [f"{seen} tablette(s) ou téléphone(s) vu(s) sur le réseau / tablets or phones seen"]
    covered = min(ctx.classes, spec.classes_per_pack * valid + len(free_rooms))
    figures = {
        "classes": float(ctx.classes),
        "covered": float(covered),
        "valid_packs": float(valid),
        "packs_needed": float(math.ceil(ctx.classes / spec.classes_per_pack)),
        "tablets_seen": float(seen),
    }
    if not packs and not free_rooms and not ctx.inventory_declared:
        message = text(
            f"aucun pack mobile déclaré ; {seen} tablette(s) ou téléphone(s) vus sur le réseau",
            f"no mobile pack declared; {seen} tablet(s) or phone(s) seen on the network",
        )
        return Outcome(status="unknown", message=message, evidence=evidence, figures=figures)
    status = coverage_status(covered, ctx.classes, known=True)
    rule_fr = (
        f"un pack de {spec.pack_min_devices} appareils ou plus pour {spec.classes_per_pack} "
        f"classes, ou {spec.free_access_min_per_room} appareils en accès libre par classe"
    )
    rule_en = (
        f"one pack of {spec.pack_min_devices}+ devices per {spec.classes_per_pack} classrooms, "
        f"or {spec.free_access_min_per_room} free-access devices per classroom"
    )
    fr = f"{covered} classe(s) sur {ctx.classes} couvertes ({rule_fr})"
    en = f"{covered} classroom(s) out of {ctx.classes} covered ({rule_en})"
    if problems_fr:
        fr += " ; " + " ; ".join(problems_fr)
        en += "; " + "; ".join(problems_en)
    return Outcome(
        status=status, message=text(fr, en), evidence=evidence, items=items, figures=figures
    )


def evaluate_mobile_kit(ctx: Context, spec: CriterionSpec) -> Outcome:
    assert isinstance(spec, MobileKitSpec)
    packs = ctx.inp.declared.mobile_packs
    if not packs:
        return Outcome(
            status="not_applicable",
            message=text("aucun pack mobile déclaré", "no mobile pack declared"),
        )
    items: list[Item] = []
    missing_fr: list[str] = []
    missing_en: list[str] = []
    present = 0
    for index, pack in enumerate(packs):
        name = _pack_name(index, pack)
        for kit in spec.tablets if pack.kind == "tablets" else spec.laptops:
            item = _kit_item(ctx, pack, kit, name)
            if item is None:
                missing_fr.append(f"« {name} » : {_KIT_FR[kit]}")
                missing_en.append(f"“{name}”: {_KIT_EN[kit]}")
            else:
                present += 1
                items.append(item)
    total = present + len(missing_fr)
    status: Status = "met" if not missing_fr else ("partly_met" if present else "not_met")
    if status == "met":
        message = text(
            "chaque pack a son point d'accès, son partage local et sa projection",
            "every pack has its access point, local sharing and projection",
        )
    else:
        message = text(
            "manque, ni découvert ni déclaré : " + " ; ".join(missing_fr),
            "missing, discovered or declared: " + "; ".join(missing_en),
        )
    figures = {"present": float(present), "expected": float(total)}
    return Outcome(status=status, message=message, items=items, figures=figures)


def _kit_item(ctx: Context, pack: DeclaredMobilePack, kit: KitItem, name: str) -> Item | None:
    """The kit item if declared for the pack or a matching device was discovered."""
    found = ctx.inp.of_category(_KIT_CATEGORIES[kit])
    declared: bool | None
    if kit == "wifi_access_point":
        ap_name = pack.wifi_access_point
        if ap_name:
            found = [device for device in found if device.known_as(ap_name)] or []
        declared = True if ap_name else None
    else:
        declared = getattr(pack, kit)
        if kit == "sharing_device" and declared is None:
            kinds = set(ctx.inp.declared.storage)
            declared = True if kinds & {"nas", "school_server"} else None
    if not found and not declared:
        return None
    source = "both" if found and declared else ("discovered" if found else "declared")
    evidence = [f"découvert : {device.label}" for device in found]
    return Item.model_validate(
        {"label": f"{name} — {_KIT_FR[kit]}", "source": source, "evidence": evidence}
    )


def evaluate_head_office(ctx: Context, spec: CriterionSpec) -> Outcome:
    assert isinstance(spec, HeadOfficeSpec)
    office = ctx.inp.declared.head_office
    office_rooms = [room for room in ctx.inp.declared.classrooms if room.kind == "head_office"]
    computer_declared = office.computer
    if computer_declared is None and office_rooms:
        computer_declared = any(room.workstations > 0 for room in office_rooms)
    computers = ctx.inp.personal("computer")
    scanners = ctx.inp.of_category(spec.scanner_categories)
    known = ctx.inventory_declared or office.computer is not None or office.scanner is not None
    items: list[Item] = []
    states: dict[str, str] = {}
    states["computer"] = _presence(
        computer_declared, computers > 0 and computer_declared is None, known
    )
    if states["computer"] != "missing" and states["computer"] != "unknown":
        evidence = [f"{computers} ordinateur(s) vu(s) sur le réseau, pièce inconnue"]
        items.append(
            Item.model_validate(
                {
                    "label": "ordinateur / computer",
                    "room": HEAD_OFFICE,
                    "source": states["computer"],
                    "evidence": evidence if states["computer"] != "declared" else [],
                }
            )
        )
    states["scanner"] = _presence(office.scanner, bool(scanners), known)
    if states["scanner"] not in ("missing", "unknown"):
        items.append(
            Item.model_validate(
                {
                    "label": "scanner ou copieur qui numérise / scanner or scanning copier",
                    "room": HEAD_OFFICE,
                    "source": states["scanner"],
                    "evidence": [f"découvert : {device.label}" for device in scanners],
                }
            )
        )
    return _head_office_outcome(states, items)


def _presence(declared: bool | None, discovered: bool, known: bool) -> str:
    """discovered/declared/both, else missing (declared absent or inventory filled) or unknown."""
    if declared and discovered:
        return "both"
    if discovered:
        return "discovered"
    if declared:
        return "declared"
    return "missing" if declared is False or known else "unknown"


def _head_office_outcome(states: dict[str, str], items: list[Item]) -> Outcome:
    names_fr = {"computer": "ordinateur", "scanner": "scanner (ou copieur qui numérise)"}
    names_en = {"computer": "computer", "scanner": "scanner (or scanning copier)"}
    absent = [key for key, state in states.items() if state in ("missing", "unknown")]
    present = len(states) - len(absent)
    status: Status
    if not absent:
        status = "met"
    elif present:
        status = "partly_met"
    else:
        status = "unknown" if all(states[k] == "unknown" for k in absent) else "not_met"
    if not absent:
        message = text(
            "le bureau de direction a un ordinateur et un scanner",
            "the head's office has a computer and a scanner",
        )
    else:
        message = text(
            "bureau de direction : pas de "
            + " ni de ".join(names_fr[k] for k in absent)
            + ", ni découvert ni déclaré",
            "head's office: no "
            + " and no ".join(names_en[k] for k in absent)
            + ", discovered or declared",
        )
    return Outcome(status=status, message=message, items=items)


def evaluate_storage(ctx: Context, spec: CriterionSpec) -> Outcome:
    assert isinstance(spec, StorageSpec)
    declared = ctx.inp.declared.storage
    servers: list[AssessedDevice] = ctx.inp.of_category(spec.discovered_categories)
    items = [
        Item(
            label=_STORAGE_FR[kind] + (f" ({ctx.inp.declared.ent_name})" if kind == "ent" else ""),
            source="both" if kind in ("nas", "school_server") and servers else "declared",
            evidence=[f"découvert : {device.label}" for device in servers]
            if kind in ("nas", "school_server")
            else [],
        )
        for kind in declared
    ]
    if servers and not {"nas", "school_server"} & set(declared):
        items.extend(
            Item(label=device.label, source="discovered", evidence=device.evidence)
            for device in servers
        )
    if items:
        names = ", ".join(item.label for item in items)
        return Outcome(
            status="met",
            message=text(f"solution de stockage : {names}", f"storage solution: {names}"),
            items=items,
        )
    status: Status = "not_met" if ctx.inventory_declared else "unknown"
    return Outcome(
        status=status,
        message=text(
            "aucun ENT, cloud ni serveur d'école, ni découvert ni déclaré",
            "no ENT, cloud or school server, discovered or declared",
        ),
    )
