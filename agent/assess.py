"""Judge a school against the socle numérique de base: inputs in, checklist out.

Pure and synchronous: no I/O, no clock (`now` is an input), so the daemon can run it
every cycle and tests can pin every verdict. Each criterion of the referential has one
evaluator here; the referential file decides which are enabled and how much they
weigh, the evaluators decide met / partly met / not met / unknown from the evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from agent.assess_context import Context, place_devices
from agent.assess_model import (
    Assessment,
    AssessmentInput,
    CriterionResult,
    Gap,
    Outcome,
    Summary,
    WifiOnTime,
)
from agent.assess_net import evaluate_internet_desirable, evaluate_internet_minimum, evaluate_wifi
from agent.assess_rooms import (
    evaluate_display,
    evaluate_document_camera,
    evaluate_network_points,
    evaluate_workstation,
)
from agent.assess_school import (
    evaluate_head_office,
    evaluate_mobile,
    evaluate_mobile_kit,
    evaluate_storage,
)
from agent.maintenance import maintenance_actions
from agent.referential import CriterionSpec, Referential, load_referential
from agent.wifi_ontime import wifi_on_time

Evaluator = Callable[[Context, CriterionSpec], Outcome]

EVALUATORS: dict[str, Evaluator] = {
    "classroom_display": evaluate_display,
    "classroom_workstation": evaluate_workstation,
    "document_camera": evaluate_document_camera,
    "mobile_equipment": evaluate_mobile,
    "mobile_kit": evaluate_mobile_kit,
    "head_office": evaluate_head_office,
    "network_points": evaluate_network_points,
    "wifi_switch_off": evaluate_wifi,
    "storage": evaluate_storage,
    "internet_minimum": evaluate_internet_minimum,
    "internet_desirable": evaluate_internet_desirable,
}


def assess(inp: AssessmentInput, referential: Referential | None = None) -> Assessment:
    """The full checklist, summary, Wi-Fi on-time report and maintenance actions."""
    referential = referential or load_referential()
    placement = place_devices(inp)
    ctx = Context(
        inp=inp,
        referential=referential,
        size=referential.school_size(inp.school),
        placement=placement,
        wifi=_wifi_report(inp, referential, placement),
    )
    results = [
        _result(name, spec, EVALUATORS[name](ctx, spec))
        for name, spec in referential.criteria.enabled()
    ]
    return Assessment(
        uai=inp.school.uai,
        school_name=inp.school.name,
        classes=inp.school.classes,
        size=ctx.size,
        assessed_at=inp.now,
        referential=referential.name,
        criteria=results,
        summary=summarise(results),
        maintenance=maintenance_actions(inp.devices, referential.maintenance, inp.now),
        wifi=ctx.wifi,
    )


def summarise(results: list[CriterionResult]) -> Summary:
    """Required criteria count ("met out of judged"); the rest are recommendations."""
    required = [r for r in results if r.level == "required" and r.status != "not_applicable"]
    judged = [r for r in required if r.status != "unknown"]
    return Summary(
        met=sum(1 for r in judged if r.status == "met"),
        judged=len(judged),
        unknown=len(required) - len(judged),
        gaps=[_gap(r) for r in judged if r.status in ("not_met", "partly_met")],
        recommendations=[
            _gap(r)
            for r in results
            if r.level != "required" and r.status in ("not_met", "partly_met")
        ],
    )


def _gap(result: CriterionResult) -> Gap:
    return Gap(id=result.id, title=result.title, status=result.status, message=result.message)


def _result(name: str, spec: CriterionSpec, outcome: Outcome) -> CriterionResult:
    return CriterionResult(
        id=name,
        title=spec.title,
        level=spec.level,
        section=spec.section,
        quote=spec.quote,
        **outcome.model_dump(),
    )


def _wifi_report(
    inp: AssessmentInput, referential: Referential, placement: dict[str, str | None]
) -> WifiOnTime | None:
    if not inp.ap_presence:
        return None
    spec = referential.criteria.wifi_switch_off
    return wifi_on_time(
        inp.ap_presence,
        inp.schedule,
        inp.now,
        window_days=spec.window_days,
        max_gap=timedelta(minutes=spec.max_gap_min),
        labels={device.id: device.label for device in inp.devices},
        rooms={key: value for key, value in placement.items() if value is not None},
    )
