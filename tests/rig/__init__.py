"""Simulated school network for tests, benchmarks and the demo.

Build with ``with build_school(classrooms=4, down_mbit=20, up_mbit=5) as school:``;
``school.hosts`` is the ground truth (``school.to_json()``), ``school.run_in("agent",
[...])`` runs a command from the agent's point of view.  See ``school.py`` for the
lifecycle and ``catalog.py`` for what the default school contains.
"""

from .catalog import PlanOptions, plan_school, with_pjlink
from .model import Host, MdnsService, PjlinkSpec, SchoolPlan, SnmpSpec
from .netns import RigUnavailable
from .recordings import recordings_dir
from .school import School, build_school, cleanup_stale, new_prefix

__all__ = [
    "Host",
    "MdnsService",
    "PjlinkSpec",
    "PlanOptions",
    "RigUnavailable",
    "School",
    "SchoolPlan",
    "SnmpSpec",
    "build_school",
    "cleanup_stale",
    "new_prefix",
    "plan_school",
    "recordings_dir",
    "with_pjlink",
]
