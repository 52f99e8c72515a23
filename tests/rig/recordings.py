"""Where SNMP data files come from: real LibreNMS recordings or our own profiles.

Why: the LibreNMS recordings (GPL, not committed here) live outside the repo
(``$SOCLE_SNMPREC_DIR`` or ``<repo>/../shared/snmprec``).  The demo must work
without them, so ``tests/rig/profiles`` ships small hand-written files; this
module picks one or the other and reads the identity (sysDescr, sysObjectID)
the ground truth records.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
SYS_DESCR_OID = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID_OID = "1.3.6.1.2.1.1.2.0"


def recordings_dir() -> Path | None:
    """Directory of the LibreNMS recordings, or None when absent."""
    env = os.environ.get("SOCLE_SNMPREC_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "snmprec")
    for c in candidates:
        if (c / "MANIFEST.tsv").is_file() or any(c.glob("*/*.snmprec")):
            return c
    return None


@dataclass(frozen=True)
class DataFile:
    """One .snmprec file resolved for serving (community = file stem)."""

    path: Path
    source: str  # "recording" or "profile"

    @property
    def community(self) -> str:
        return self.path.name.removesuffix(".snmprec")


def resolve(recording: str | None, profile: str | None, force_profiles: bool) -> DataFile | None:
    """Pick the data file for a device: recording if present (and not forced off), else profile.

    ``recording`` is ``<category>/<name>`` below the recordings dir; ``profile``
    is a file stem in ``profiles/``.
    """
    rec_dir = None if force_profiles else recordings_dir()
    if recording and rec_dir is not None:
        p = rec_dir / f"{recording}.snmprec"
        if p.is_file():
            return DataFile(p, "recording")
    if profile:
        p = PROFILES_DIR / f"{profile}.snmprec"
        if p.is_file():
            return DataFile(p, "profile")
        raise FileNotFoundError(f"rig profile {p} is missing")
    return None


def _decode(tag: str, value: str) -> str:
    if tag.endswith("x"):
        try:
            return bytes.fromhex(value).decode("utf-8", errors="replace")
        except ValueError:
            return value
    return value


def identity(path: Path) -> tuple[str, str]:
    """(sysDescr, sysObjectID) as recorded in an snmprec file ('' when missing)."""
    descr, oid = "", ""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\r\n").split("|", 2)
            if len(parts) != 3:
                continue
            key = parts[0].lstrip(".")
            if key == SYS_DESCR_OID:
                descr = _decode(parts[1], parts[2])
            elif key == SYS_OBJECT_ID_OID:
                oid = _decode(parts[1], parts[2]).lstrip(".")
            if descr and oid:
                break
    return descr, oid
