"""What a device is, from the merged facts of every probe, with the evidence that says so.

Why a weighted vote rather than a decision tree: a device shows a few signs of its
kind through different channels (a MIB that answers, a name, a vendor branch, an
mDNS service) and any one of them may be missing or misleading — Net-SNMP printers
and access points say "Linux", HP MFPs say "ETHERNET MULTI-ENVIRONMENT", Epson
projectors share the printers' enterprise number. Each rule in
`agent.classify_rules` adds weight to one category and one line of evidence; the
heaviest category wins, and the margin over the runner-up sets the confidence.
A printer that also shows multifunction signs (scanner, copier, fax, eSCL) becomes
`mfp`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from agent import classify_rules as rules
from agent.categories import CATEGORIES
from agent.classify_facts import FactView
from probes.base import FactValue

_MAX_EVIDENCE = 6
_SCALE = 3.0  # score at which confidence reaches ~63 % with no competitor


@dataclass(frozen=True)
class Classification:
    """A category with a 0–1 confidence, the evidence lines, and best vendor/model guesses."""

    category: str
    confidence: float
    evidence: list[str] = field(default_factory=list)
    vendor: str | None = None
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Votes:
    """Accumulated weight and evidence per category; one vote per rule label."""

    def __init__(self) -> None:
        self.score: dict[str, float] = defaultdict(float)
        self.lines: dict[str, list[tuple[float, str]]] = defaultdict(list)
        self._seen: set[tuple[str, str]] = set()

    def add(self, category: str, weight: float, line: str, key: str | None = None) -> None:
        dedupe = (category, key or line)
        if dedupe in self._seen:
            return
        self._seen.add(dedupe)
        self.score[category] += weight
        self.lines[category].append((weight, f"{line} → {category}"))


def _snmp_votes(view: FactView, votes: _Votes) -> None:
    oid = view.sys_object_id
    if oid:
        for prefix, category, weight, label in rules.OID_RULES:
            if oid == prefix or oid.startswith(prefix + "."):
                votes.add(category, weight, f"snmp sysObjectID {oid[:40]} in {label}")
    enterprise = view.enterprise
    if enterprise is not None and enterprise in rules.ENTERPRISE_RULES:
        category, weight = rules.ENTERPRISE_RULES[enterprise]
        votes.add(
            category,
            weight,
            f"snmp sysObjectID enterprise {enterprise} ({view.snmp_vendor or '?'})",
        )
    for number in view.subtrees:
        if number in rules.SUBTREE_RULES:
            category, weight, label = rules.SUBTREE_RULES[number]
            votes.add(category, weight, f"snmp {label} subtree ({number}) answered")
    if view.printer_mib:
        votes.add("printer", 3, "snmp Printer-MIB answered")
    if view.hr_printers and not view.general_os:
        votes.add("printer", 1.5, f"snmp hrDevicePrinter '{view.hr_printers[0][:40]}'")
    if view.dot11:
        votes.add("access_point", 3, "snmp IEEE 802.11 MIB answered")
    if view.ssids:
        votes.add("access_point", 2.5, f"snmp {len(view.ssids)} SSID(s) configured")
    if view.radio_interfaces:
        votes.add("access_point", 1.5, f"snmp radio interface '{view.radio_interfaces[0][:40]}'")
    if view.general_os and view.net_snmp_oid:
        votes.add(
            "computer", 0.8, f"snmp generic '{view.sys_descr[:30]}' with net-snmp sysObjectID"
        )


def _text_votes(view: FactView, votes: _Votes) -> None:
    for source, text in view.texts():
        for rule in rules.TEXT_RULES:
            if rule.pattern.search(text):
                votes.add(
                    rule.category,
                    rule.weight,
                    f"{source} '{text[:50]}' {rule.label}",
                    key=rule.label,
                )


def _mdns_votes(view: FactView, votes: _Votes) -> None:
    services = view.services
    if not services:
        return
    printing = services & rules.PRINTER_SERVICES
    scanning = services & rules.SCANNER_SERVICES
    if printing:
        votes.add("printer", 2.5, f"mdns {sorted(printing)[0]} advertised")
    if scanning and not printing:
        votes.add("scanner", 3, f"mdns {sorted(scanning)[0]} without a print service")
    mirror = services & rules.MIRROR_SERVICES
    if mirror and not printing and not view.mac_model and not view.phone_model:
        votes.add(
            "presentation_device", 2.5, f"mdns {sorted(mirror)[0]} (screen mirroring receiver)"
        )
    share = services & rules.SHARE_SERVICES
    if share and not printing and (view.nas_model or not view.device_model):
        votes.add("nas", 2.5, f"mdns {sorted(share)[0]} file sharing, not a Mac")
    if view.mac_model and not view.nas_model:
        votes.add("computer", 3, f"mdns device-info model '{view.device_model[:30]}' (Mac)")
    if view.phone_model:
        votes.add("tablet_or_phone", 3, f"mdns model '{view.device_model[:30]}'")
    if services & rules.CAMERA_SERVICES:
        votes.add("camera", 2, "mdns camera/RTSP service advertised")
    if services & rules.COMPUTER_SERVICES:
        votes.add("computer", 2, "mdns workstation service advertised")


def _other_votes(view: FactView, votes: _Votes) -> None:
    if view.pjlink:
        votes.add("projector", 5, f"pjlink answered{view.pjlink_label}")
    if view.locally_administered and view.nothing_else:
        votes.add("tablet_or_phone", 1.5, "locally administered (private) MAC and nothing else")
    maker = view.text("oui.vendor").lower()
    if view.nothing_else and maker:
        if any(word in maker for word in rules.SILENT_COMPUTER_MAKERS):
            votes.add(
                "computer", 1.0, f"answers only ARP; MAC maker '{maker[:40]}' makes computers"
            )
        elif any(word in maker for word in rules.SILENT_MOBILE_MAKERS):
            votes.add(
                "tablet_or_phone",
                1.0,
                f"answers only ARP; MAC maker '{maker[:40]}' makes tablets and phones",
            )


def _confidence(best: float, runner_up: float) -> float:
    strength = 1.0 - math.exp(-best / _SCALE)
    margin = best / (best + runner_up) if best + runner_up > 0 else 0.0
    return round(min(0.99, strength * margin), 2)


def _decide(votes: _Votes, view: FactView) -> tuple[str, float, list[str]]:
    if not votes.score:
        return "unknown", 0.0, ["no identifying facts"]
    ranked = sorted(votes.score.items(), key=lambda item: (-item[1], CATEGORIES.index(item[0])))
    category, best = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    lines = sorted(votes.lines[category], key=lambda item: -item[0])
    evidence = [line for _weight, line in lines]
    if category in {"printer", "scanner"}:
        mfp_sign = view.mfp_sign()
        prints = view.prints  # structural evidence only: a printer vendor may also sell scanners
        scans = votes.score.get("scanner", 0.0) > 0
        # A scanner becomes an MFP only if it also prints; a printer if anything shows more.
        if (category == "printer" and (mfp_sign or scans)) or (category == "scanner" and prints):
            category = "mfp"
            runner_up = max((s for c, s in ranked if c not in {"printer", "scanner"}), default=0.0)
            best = votes.score.get("printer", 0.0) + votes.score.get("scanner", 0.0)
            evidence = [f"{mfp_sign or 'prints and scans'} → mfp", *evidence]
    return category, _confidence(best, runner_up), evidence[:_MAX_EVIDENCE]


def classify(facts: Mapping[str, FactValue]) -> Classification:
    """Category, confidence and evidence for one device's merged facts (never raises on odd facts)."""
    view = FactView(facts)
    votes = _Votes()
    _other_votes(view, votes)
    _snmp_votes(view, votes)
    _text_votes(view, votes)
    _mdns_votes(view, votes)
    category, confidence, evidence = _decide(votes, view)
    return Classification(category, confidence, evidence, view.vendor_guess(), view.model_guess())
