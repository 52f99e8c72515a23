"""Per-classroom criteria: collective display, workstation, document camera, network points.

The number of classes comes from the school's settings, not from the declared rooms:
a partial inventory must not make a school look compliant. Discovered devices that no
declared room names still count (a projector is in *some* classroom), but the evidence
says their room is unknown.
"""

from __future__ import annotations

from agent.assess_context import Context
from agent.assess_model import (
    AssessedDevice,
    Item,
    Outcome,
    Status,
    plural_en,
    plural_fr,
    text,
)
from agent.config import DeclaredClassroom
from agent.referential import CriterionSpec, DisplaySpec, LocalText, NetworkPointsSpec

_DISPLAY_FR = {"projector": "vidéoprojecteur", "tni": "TNI/TBI", "vpi": "VPI", "eti": "ETI"}


def coverage_status(covered: int, classes: int, known: bool) -> Status:
    """All classes → met; some → partly; none → not met if staff declared an inventory
    (so the absence is a fact), else unknown (nothing seen, nothing declared)."""
    if covered >= classes:
        return "met"
    if covered > 0:
        return "partly_met"
    return "not_met" if known else "unknown"


def missing_message(missing: int, classes: int, fr_what: str, en_what: str) -> LocalText:
    verb_fr = "n'a" if missing <= 1 else "n'ont"
    return text(
        f"{missing} {plural_fr(missing, 'classe', 'classes')} sur {classes} "
        f"{verb_fr} pas {fr_what}, ni découvert ni déclaré",
        f"{missing} {plural_en(missing, 'classroom', 'classrooms')} out of {classes} "
        f"{'has' if missing == 1 else 'have'} no {en_what}, discovered or declared",
    )


def _device_item(device: AssessedDevice, room: str | None, source: str = "discovered") -> Item:
    where = "" if room else " — pièce inconnue / room unknown"
    return Item.model_validate(
        {
            "label": device.label + where,
            "room": room,
            "source": source,
            "evidence": [f"ip {device.ip}", *device.evidence] if device.ip else device.evidence,
        }
    )


def evaluate_display(ctx: Context, spec: CriterionSpec) -> Outcome:
    """Rooms with a display (declared, placed discovered, or both), plus discovered displays
    no room names. A room that declares only a *networked* display is paired with one such
    unplaced discovered display, so the same projector is not counted twice."""
    assert isinstance(spec, DisplaySpec)
    displays = ctx.inp.of_category(spec.categories)
    loose = ctx.unplaced(displays)
    items: list[Item] = []
    counts = {"discovered": 0, "declared": 0, "both": 0}
    for room in ctx.classrooms:
        seen = ctx.in_room(room.name, displays)
        if not seen and not room.displays:
            continue
        paired = None
        if not seen and all(d.connection == "network" for d in room.displays) and loose:
            paired = loose.pop(0)
            seen = [paired]
        source = "both" if seen and room.displays else ("discovered" if seen else "declared")
        counts[source] += 1
        items.append(_room_display_item(room, seen, source, paired is not None))
    items.extend(_device_item(device, ctx.room_of(device)) for device in loose)
    counts["discovered"] += len(loose)
    rooms_with = counts["declared"] + counts["both"] + counts["discovered"] - len(loose)
    covered = min(ctx.classes, rooms_with + len(loose))
    status = coverage_status(covered, ctx.classes, ctx.inventory_declared)
    evidence = [
        f"{rooms_with} classe(s) déclarée(s) avec affichage / declared rooms with a display",
        f"{len(loose)} affichage(s) découvert(s) sans pièce déclarée / discovered, room unknown",
    ]
    figures = {"classes": float(ctx.classes), "covered": float(covered)}
    figures.update({key: float(value) for key, value in counts.items()})
    if status == "met":
        message = text(
            f"{ctx.classes} classes sur {ctx.classes} ont un affichage collectif "
            f"({_sources_fr(counts)})",
            f"{ctx.classes} classrooms out of {ctx.classes} have a collective display "
            f"({_sources_en(counts)})",
        )
    else:
        message = missing_message(
            ctx.classes - covered, ctx.classes, "d'affichage collectif", "collective display"
        )
    return Outcome(status=status, message=message, evidence=evidence, items=items, figures=figures)


def _room_display_item(
    room: DeclaredClassroom, seen: list[AssessedDevice], source: str, paired: bool
) -> Item:
    declared = [
        f"déclaré : {_DISPLAY_FR.get(d.kind, d.kind)} ({d.connection})" for d in room.displays
    ]
    found = [f"découvert : {device.label}" for device in seen]
    evidence = [*found, *declared]
    if paired:
        evidence.append(
            "affichage réseau déclaré apparié à un affichage découvert sans pièce "
            "(pièce supposée) / declared networked display paired with an unplaced one"
        )
    elif source == "declared" and all(d.connection == "network" for d in room.displays):
        evidence.append(
            "déclaré en réseau mais non découvert (éteint ?) / declared networked, not discovered"
        )
    for device in seen:
        evidence.extend(device.evidence)
    return Item.model_validate(
        {"label": room.name, "room": room.name, "source": source, "evidence": evidence}
    )


def _sources_fr(counts: dict[str, int]) -> str:
    return (
        f"{counts['discovered']} découvert(s), {counts['declared']} déclaré(s), "
        f"{counts['both']} les deux"
    )


def _sources_en(counts: dict[str, int]) -> str:
    return (
        f"{counts['discovered']} discovered, {counts['declared']} declared, {counts['both']} both"
    )


def evaluate_workstation(ctx: Context, spec: CriterionSpec) -> Outcome:
    """Declared workstations per room, then computers seen on the network (counted, never
    listed: they are personal devices) minus those a laptop pack or the office explains."""
    declared_rooms = [room for room in ctx.classrooms if room.workstations > 0]
    items = [
        Item(
            label=room.name,
            room=room.name,
            source="declared",
            evidence=[f"{room.workstations} poste(s) déclaré(s)"],
        )
        for room in declared_rooms
    ]
    computers = ctx.inp.personal("computer")
    reserved = sum(p.devices for p in ctx.inp.declared.mobile_packs if p.kind == "laptops")
    reserved += 1 if ctx.inp.declared.head_office.computer else 0
    spare = max(0, computers - reserved)
    from_network = min(spare, max(0, ctx.classes - len(declared_rooms)))
    if computers:
        items.append(
            Item(
                label=f"{computers} ordinateur(s) vu(s) sur le réseau / computers seen",
                source="discovered",
                evidence=[
                    f"{reserved} attribué(s) aux packs portables ou au bureau / "
                    "assigned to laptop packs or the office",
                    f"{from_network} compté(s) pour des classes sans poste déclaré, "
                    "pièce inconnue / counted for rooms without a declared workstation",
                ],
            )
        )
    covered = min(ctx.classes, len(declared_rooms) + from_network)
    status = coverage_status(covered, ctx.classes, ctx.inventory_declared)
    figures = {
        "classes": float(ctx.classes),
        "covered": float(covered),
        "declared": float(len(declared_rooms)),
        "discovered": float(from_network),
        "computers_seen": float(computers),
    }
    if status == "met":
        message = text(
            f"{ctx.classes} classes sur {ctx.classes} ont un poste de travail "
            f"({len(declared_rooms)} déclaré(s), {from_network} vu(s) sur le réseau)",
            f"{ctx.classes} classrooms out of {ctx.classes} have a workstation "
            f"({len(declared_rooms)} declared, {from_network} seen on the network)",
        )
    else:
        message = missing_message(
            ctx.classes - covered, ctx.classes, "de poste de travail", "workstation"
        )
    return Outcome(status=status, message=message, items=items, figures=figures)


def evaluate_document_camera(ctx: Context, spec: CriterionSpec) -> Outcome:
    """Declared only: a USB document camera is invisible to the network."""
    rooms = [room for room in ctx.classrooms if room.document_camera]
    covered = min(ctx.classes, len(rooms))
    status = coverage_status(covered, ctx.classes, ctx.inventory_declared)
    items = [Item(label=room.name, room=room.name, source="declared") for room in rooms]
    if status == "met":
        message = text(
            "chaque classe a une caméra de table déclarée",
            "every classroom has a declared document camera",
        )
    else:
        message = missing_message(
            ctx.classes - covered, ctx.classes, "de caméra de table", "document camera"
        )
    figures = {"classes": float(ctx.classes), "covered": float(covered)}
    return Outcome(status=status, message=message, items=items, figures=figures)


def evaluate_network_points(ctx: Context, spec: CriterionSpec) -> Outcome:
    """Declared only: wall sockets do not answer on the network."""
    assert isinstance(spec, NetworkPointsSpec)
    wanted = spec.min_per_classroom
    known = [room for room in ctx.classrooms if room.network_points is not None]
    ok = [room for room in known if (room.network_points or 0) >= wanted]
    short = [room for room in known if (room.network_points or 0) < wanted]
    items = [
        Item(
            label=room.name,
            room=room.name,
            source="declared",
            evidence=[f"{room.network_points} prise(s) réseau déclarée(s)"],
        )
        for room in known
    ]
    figures = {"classes": float(ctx.classes), "ok": float(len(ok)), "short": float(len(short))}
    undeclared = max(0, ctx.classes - len(known))
    if not known:
        return Outcome(
            status="unknown",
            message=text(
                "nombre de prises réseau par classe non déclaré",
                "number of network points per classroom not declared",
            ),
            figures=figures,
        )
    status: Status = "met" if len(ok) >= ctx.classes else ("partly_met" if ok else "not_met")
    fr = [f"{len(ok)} classe(s) sur {ctx.classes} ont au moins {wanted} prises réseau"]
    en = [f"{len(ok)} classroom(s) out of {ctx.classes} have at least {wanted} network points"]
    if short:
        names = ", ".join(room.name for room in short)
        fr.append(f"moins de {wanted} : {names}")
        en.append(f"fewer than {wanted}: {names}")
    if undeclared and status != "met":
        fr.append(f"{undeclared} non déclarée(s)")
        en.append(f"{undeclared} not declared")
    return Outcome(
        status=status,
        message=text(" ; ".join(fr), "; ".join(en)),
        items=items,
        figures=figures,
    )
