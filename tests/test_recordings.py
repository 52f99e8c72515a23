"""Every LibreNMS recording, served by one snmpsim on loopback, must classify right.

The recordings are not ours (GPL, see ../shared/snmprec/README.md) and are not in
this repository: they are found at $SOCLE_SNMPREC_DIR, else <repo>/../shared/snmprec.
Missing recordings fail in CI (CI=true) and skip elsewhere with where to get them.
The expected category is the manifest's, with the mappings its README documents
(multifunction printers may be `mfp`, the DS-860 scan server is a scanner, the
ZoneDirector a WLAN controller, ClickShare a presentation device).
"""

from __future__ import annotations

import asyncio
import csv
import os
from collections import Counter
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.config import SnmpSettings, SnmpV1V2Credential
from agent.identify import IdentifyResult, identify_host
from probes.snmp_session import SnmpStacks
from tests.snmpsim_server import LOOPBACK, snmpsim_server

pytestmark = pytest.mark.snmprec

REPO = Path(__file__).resolve().parents[1]
_CONCURRENCY = 8  # snmpsim is one process: more parallel clients only queue

# README caveats: files filed under the nearest category.
_OVERRIDES = {
    "epson-scanner_ds-860": {"scanner"},
    "ruckuswireless_zd1200": {"wlan_controller"},
    "clickshare_main": {"presentation_device"},
}
_CATEGORY_MAP = {"display": {"presentation_device", "interactive_display"}}


def recordings_dir() -> Path:
    from_env = os.environ.get("SOCLE_SNMPREC_DIR")
    return Path(from_env) if from_env else REPO.parent / "shared" / "snmprec"


def _missing(root: Path) -> None:
    message = (
        f"SNMP recordings not found at {root} (set SOCLE_SNMPREC_DIR). Get them from the "
        "LibreNMS repository, directory tests/snmpsim/, at the commit named in "
        "shared/snmprec/README.md, laid out as <category>/<name>.snmprec with MANIFEST.tsv"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def expected_categories(row: dict[str, str]) -> set[str]:
    name = Path(row["file"]).stem
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    category = row["category"]
    allowed = set(_CATEGORY_MAP.get(category, {category}))
    note = row.get("note", "")
    if category == "printer" and ("multifunction" in note.lower() or "MFP" in note):
        allowed.add("mfp")
    return allowed


def load_manifest(root: Path) -> list[dict[str, str]]:
    with (root / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle, delimiter="\t")]


def confusion_table(rows: list[tuple[str, str]]) -> str:
    """Rows: (manifest category, predicted category) → a text table."""
    counts = Counter(rows)
    truths = sorted({t for t, _p in rows})
    predicted = sorted({p for _t, p in rows})
    width = 9  # column names cut to 8 characters
    lines = ["manifest \\ predicted".ljust(22) + "".join(p[:8].rjust(width) for p in predicted)]
    for truth in truths:
        cells = "".join(str(counts[(truth, p)] or ".").rjust(width) for p in predicted)
        lines.append(truth.ljust(22) + cells)
    return "\n".join(lines)


async def _identify_all(port: int, rows: list[dict[str, str]]) -> list[IdentifyResult]:
    limit = asyncio.Semaphore(_CONCURRENCY)
    settings = SnmpSettings(
        credentials=[SnmpV1V2Credential(version="2c", community=SecretStr("public"))],
        fast_timeout_s=2.0,
        max_walk_s=5.0,
    )

    stacks = SnmpStacks()

    async def one(row: dict[str, str]) -> IdentifyResult:
        community = str(Path(row["file"]).with_suffix(""))
        async with limit:
            return await identify_host(
                LOOPBACK, snmp_port=port, community=community, settings=settings, stacks=stacks
            )

    try:
        return list(await asyncio.gather(*(one(row) for row in rows)))
    finally:
        stacks.close_dispatcher()


def test_every_recording_is_classified_as_its_manifest_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = recordings_dir()
    if not (root / "MANIFEST.tsv").is_file():
        _missing(root)
    rows = load_manifest(root)
    assert rows, "MANIFEST.tsv lists no recordings"
    with snmpsim_server(root, probe_community=str(Path(rows[0]["file"]).with_suffix(""))) as srv:
        results = asyncio.run(_identify_all(srv.port, rows))
    pairs: list[tuple[str, str]] = []
    wrong: list[str] = []
    for row, result in zip(rows, results, strict=True):
        got = result.classification
        pairs.append((row["category"], got.category))
        if got.category not in expected_categories(row):
            wrong.append(
                f"{row['file']}: got {got.category} ({got.confidence}), expected "
                f"{sorted(expected_categories(row))}; evidence {got.evidence[:3]}"
            )
    with capsys.disabled():
        print(f"\nSNMP recordings: {len(rows) - len(wrong)}/{len(rows)} correct")
        print(confusion_table(pairs))
    assert not wrong, "\n".join(wrong)
