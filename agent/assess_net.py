"""Network criteria measured rather than declared: Wi-Fi switch-off and internet bandwidth.

Both give figures in the message, because a municipal technician must be able to check
the verdict ("7,1 Mbit/s médian sur 7 jours, sous le minimum de 8 Mbit/s") and a
verdict without figures invites an argument.
"""

from __future__ import annotations

from agent.assess_context import Context
from agent.assess_model import (
    ApOnTime,
    Item,
    Outcome,
    Status,
    en_number,
    fr_number,
    text,
)
from agent.config import SchoolSize
from agent.referential import CriterionSpec, LocalText, WifiSpec

_SIZE_FR: dict[SchoolSize, str] = {
    "small": "une petite école",
    "medium": "une école moyenne",
    "large": "une grande école",
}
_SIZE_EN: dict[SchoolSize, str] = {
    "small": "a small school",
    "medium": "a medium school",
    "large": "a large school",
}


def evaluate_wifi(ctx: Context, spec: CriterionSpec) -> Outcome:
    assert isinstance(spec, WifiSpec)
    report = ctx.wifi
    declared = ctx.inp.declared.wifi_switchable
    if report is None or not report.access_points:
        return _wifi_without_records(ctx, declared)
    observed = report.school_observed_outside_h
    figures = {
        "observed_outside_h": observed,
        "on_outside_h": report.school_on_outside_h,
        "window_days": float(spec.window_days),
        "access_points": float(len(report.access_points)),
    }
    items = [_ap_item(ap) for ap in report.access_points]
    if observed < spec.min_observed_outside_h:
        return Outcome(
            status="unknown",
            message=text(
                f"seulement {fr_number(observed)} h observées hors temps de classe "
                f"(il en faut {fr_number(spec.min_observed_outside_h)})",
                f"only {en_number(observed)} h observed outside lesson hours "
                f"({en_number(spec.min_observed_outside_h)} needed)",
            ),
            items=items,
            figures=figures,
        )
    on_too_long = [ap for ap in report.access_points if not _ok(ap, spec)]
    never_off = [ap for ap in on_too_long if not ap.ever_off]
    status: Status
    if not on_too_long:
        status = "met"
    elif len(never_off) == len(report.access_points):
        status = "not_met"
    else:
        status = "partly_met"
    return Outcome(
        status=status,
        message=_wifi_message(ctx, status, on_too_long, never_off, spec),
        items=items,
        figures=figures,
    )


def _ok(ap: ApOnTime, spec: WifiSpec) -> bool:
    if ap.observed_outside_h <= 0:
        return True
    return ap.on_outside_h / ap.observed_outside_h <= spec.max_on_outside_ratio


def _ap_item(ap: ApOnTime) -> Item:
    return Item(
        label=ap.label,
        room=ap.room,
        source="discovered",
        evidence=[
            f"allumé {fr_number(ap.on_outside_h)} h sur {fr_number(ap.observed_outside_h)} h "
            "observées hors temps de classe / on outside lesson hours",
            "déjà éteint / seen off" if ap.ever_off else "jamais éteint / never seen off",
        ],
    )


def _wifi_message(
    ctx: Context, status: Status, too_long: list[ApOnTime], never: list[ApOnTime], spec: WifiSpec
) -> LocalText:
    report = ctx.wifi
    assert report is not None
    on_h, seen_h = report.school_on_outside_h, report.school_observed_outside_h
    days = spec.window_days
    head_fr = (
        f"Wi-Fi allumé {fr_number(on_h)} h sur {fr_number(seen_h)} h observées "
        f"hors temps de classe sur {days} jours"
    )
    head_en = (
        f"Wi-Fi on {en_number(on_h)} h of {en_number(seen_h)} h observed "
        f"outside lesson hours over {days} days"
    )
    if status == "met":
        return text(head_fr + " : les bornes sont éteintes", head_en + ": access points go off")
    names = ", ".join(ap.label for ap in too_long)
    fr = f"{head_fr} ; {len(too_long)} borne(s) sur {len(report.access_points)} restent allumées : {names}"
    en = f"{head_en}; {len(too_long)} of {len(report.access_points)} access points stay on: {names}"
    if never:
        fr += " ; jamais éteinte(s) : " + ", ".join(ap.label for ap in never)
        en += "; never switched off: " + ", ".join(ap.label for ap in never)
    return text(fr, en)


def _wifi_without_records(ctx: Context, declared: bool | None) -> Outcome:
    aps = ctx.inp.of_category(["access_point", "wlan_controller"])
    if aps:
        return Outcome(
            status="unknown",
            message=text(
                f"{len(aps)} borne(s) Wi-Fi découverte(s), pas encore d'historique de présence",
                f"{len(aps)} Wi-Fi access point(s) discovered, no presence history yet",
            ),
        )
    if declared is not None:
        return Outcome(
            status="met" if declared else "not_met",
            message=text(
                "Wi-Fi déclaré " + ("débrayable" if declared else "non débrayable"),
                "Wi-Fi declared " + ("switchable" if declared else "not switchable"),
            ),
            items=[Item(label="Wi-Fi", source="declared")],
        )
    return Outcome(
        status="not_applicable",
        message=text("aucune borne Wi-Fi découverte", "no Wi-Fi access point discovered"),
    )


def evaluate_internet_minimum(ctx: Context, spec: CriterionSpec) -> Outcome:
    minimum = ctx.referential.internet.minimum_down_mbps.for_size(ctx.size)
    unknown = _bandwidth_unknown(ctx)
    if unknown is not None:
        return unknown
    assert ctx.inp.bandwidth is not None
    down = ctx.inp.bandwidth.median_down_mbps
    assert down is not None
    met = down >= minimum
    word_fr, word_en = ("au-dessus du", "above the") if met else ("sous le", "below the")
    days, tests = ctx.inp.bandwidth.window_days, ctx.inp.bandwidth.tests
    return Outcome(
        status="met" if met else "not_met",
        message=text(
            f"internet : {fr_number(down)} Mbit/s médian sur {days} jours ({tests} mesures), "
            f"{word_fr} minimum de {fr_number(minimum)} Mbit/s pour {_SIZE_FR[ctx.size]}",
            f"internet: {en_number(down)} Mbit/s median over {days} days ({tests} tests), "
            f"{word_en} {en_number(minimum)} Mbit/s minimum for {_SIZE_EN[ctx.size]}",
        ),
        figures={"median_down_mbps": down, "minimum_down_mbps": minimum, "tests": float(tests)},
    )


def evaluate_internet_desirable(ctx: Context, spec: CriterionSpec) -> Outcome:
    target = ctx.referential.internet.desirable.for_size(ctx.size)
    unknown = _bandwidth_unknown(ctx)
    if unknown is not None:
        return unknown
    assert ctx.inp.bandwidth is not None
    down = ctx.inp.bandwidth.median_down_mbps or 0.0
    up = ctx.inp.bandwidth.median_up_mbps
    down_ok = down >= target.down_mbps
    up_ok = up is not None and up >= target.up_mbps
    status: Status = (
        "met" if down_ok and up_ok else ("partly_met" if down_ok or up_ok else "not_met")
    )
    if up is None and down_ok:
        status = "partly_met"
    up_fr = "?" if up is None else fr_number(up)
    up_en = "?" if up is None else en_number(up)
    figures = {"median_down_mbps": down, "desirable_down_mbps": target.down_mbps}
    figures["desirable_up_mbps"] = target.up_mbps
    if up is not None:
        figures["median_up_mbps"] = up
    return Outcome(
        status=status,
        message=text(
            f"internet : {fr_number(down)}/{up_fr} Mbit/s (réception/émission), niveau "
            f"souhaitable {fr_number(target.down_mbps)}/{fr_number(target.up_mbps)} Mbit/s "
            f"pour {_SIZE_FR[ctx.size]}",
            f"internet: {en_number(down)}/{up_en} Mbit/s (down/up), desirable "
            f"{en_number(target.down_mbps)}/{en_number(target.up_mbps)} Mbit/s "
            f"for {_SIZE_EN[ctx.size]}",
        ),
        figures=figures,
    )


def _bandwidth_unknown(ctx: Context) -> Outcome | None:
    """Too few measurements make no verdict: a single slow test at 8:30 is not the uplink."""
    bandwidth = ctx.inp.bandwidth
    needed = ctx.referential.internet.min_tests
    if bandwidth is None or bandwidth.median_down_mbps is None:
        return Outcome(
            status="unknown",
            message=text("pas encore de mesure de débit", "no bandwidth measurement yet"),
        )
    if bandwidth.tests < needed:
        return Outcome(
            status="unknown",
            message=text(
                f"seulement {bandwidth.tests} mesure(s) de débit (il en faut {needed})",
                f"only {bandwidth.tests} bandwidth test(s) ({needed} needed)",
            ),
            figures={"tests": float(bandwidth.tests)},
        )
    return None
