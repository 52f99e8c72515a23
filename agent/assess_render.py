"""The checklist in a terminal: green / amber / red, and readable without colour.

Colour alone fails on a serial console, in a log file or for a colour-blind reader, so
every line also carries a bracketed marker ([OK], [PARTIEL], [MANQUE], [?], [—]).
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from agent.assess_model import Assessment, CriterionResult, Item, Status
from agent.referential import Language

MARKERS: dict[Language, dict[Status, str]] = {
    "fr": {
        "met": "[OK]",
        "partly_met": "[PARTIEL]",
        "not_met": "[MANQUE]",
        "unknown": "[?]",
        "not_applicable": "[—]",
    },
    "en": {
        "met": "[OK]",
        "partly_met": "[PARTIAL]",
        "not_met": "[MISSING]",
        "unknown": "[?]",
        "not_applicable": "[—]",
    },
}
STYLES: dict[Status, str] = {
    "met": "bold green",
    "partly_met": "bold dark_orange",
    "not_met": "bold red",
    "unknown": "dim",
    "not_applicable": "dim",
}
_SOURCE: dict[Language, dict[str, str]] = {
    "fr": {"discovered": "découvert", "declared": "déclaré", "both": "découvert + déclaré"},
    "en": {"discovered": "discovered", "declared": "declared", "both": "discovered + declared"},
}
_SIZE: dict[Language, dict[str, str]] = {
    "fr": {"small": "petite école", "medium": "école moyenne", "large": "grande école"},
    "en": {"small": "small school", "medium": "medium school", "large": "large school"},
}
_LEVEL: dict[Language, dict[str, str]] = {
    "fr": {"required": "", "desirable": " (souhaitable)", "optional": " (option)"},
    "en": {"required": "", "desirable": " (desirable)", "optional": " (optional)"},
}


def render_checklist(
    assessment: Assessment,
    console: Console,
    color: bool = True,
    language: Language = "fr",
    details: bool = True,
) -> None:
    """Print the checklist, its summary and the maintenance actions to `console`."""
    for line in checklist_lines(assessment, color=color, language=language, details=details):
        console.print(line, highlight=False, soft_wrap=True)


def checklist_lines(
    assessment: Assessment, *, color: bool, language: Language = "fr", details: bool = True
) -> list[str]:
    """The checklist as rich-markup lines (plain text when `color` is false)."""
    fr = language == "fr"
    size = _SIZE[language][assessment.size]
    head = f"{assessment.school_name or assessment.uai} — {assessment.classes} "
    head += f"{'classes' if fr else 'classrooms'}, {size}"
    lines = [_bold(escape(head), color), escape(assessment.referential), ""]
    for result in assessment.criteria:
        lines.extend(_criterion_lines(result, color, language, details))
    summary = assessment.summary
    lines.append("")
    lines.append(
        _bold(
            f"{summary.met}/{summary.judged} "
            + ("critères remplis" if fr else "criteria met")
            + (f", {summary.unknown} " + ("non évalués" if fr else "not judged"))
            * bool(summary.unknown),
            color,
        )
    )
    if assessment.maintenance:
        lines.append("")
        lines.append(_bold("Maintenance", color))
        for action in assessment.maintenance:
            marker = "[!!]" if action.severity == "critical" else "[!]"
            style = "bold red" if action.severity == "critical" else "bold dark_orange"
            lines.append(
                f"  {_styled(marker, style, color)} {escape(action.message.get(language))}"
            )
    return lines


def _criterion_lines(
    result: CriterionResult, color: bool, language: Language, details: bool
) -> list[str]:
    marker = MARKERS[language][result.status]
    title = result.title.get(language) + _LEVEL[language][result.level]
    lines = [
        f"{_styled(escape(f'{marker:<10}'), STYLES[result.status], color)}"
        f"{escape(title)} ({escape(result.section)})",
        f"{'':10}{escape(result.message.get(language))}",
    ]
    if details:
        lines.extend(f"{'':12}- {escape(_item_text(item, language))}" for item in result.items)
    return lines


def _item_text(item: Item, language: Language) -> str:
    source = _SOURCE[language][item.source]
    return f"{item.label} [{source}]" + (f": {'; '.join(item.evidence)}" if item.evidence else "")


def _styled(value: str, style: str, color: bool) -> str:
    return f"[{style}]{value}[/]" if color else value


def _bold(value: str, color: bool) -> str:
    return _styled(value, "bold", color)
