"""The commented agent.toml that `socle-agent init` writes (and config/agent.example.toml is)."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network
from pathlib import Path

from agent.uai import validate_uai


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_agent_config(
    *,
    uai: str,
    classes: int,
    name: str = "",
    commune: str = "",
    collector_url: str | None = None,
    state_dir: Path = Path("/var/lib/socle-agent"),
    subnets: Sequence[IPv4Network] = (),
) -> str:
    """A complete, commented file: every section present so an operator sees what exists."""
    uai = validate_uai(uai)
    subnet_list = ", ".join(_toml_string(str(s)) for s in subnets)
    collector_line = (
        f"url = {_toml_string(collector_url)}"
        if collector_url
        else '# url = "https://collecteur.example.fr"'
    )
    return f"""\
# socle-agent configuration. Check it with: socle-agent check-config
# Times are local (Europe/Paris). Secrets here are never printed or sent.

[school]
uai = {_toml_string(uai)}            # 7 digits + check letter
name = {_toml_string(name)}
commune = {_toml_string(commune)}
classes = {classes}              # size: <= 5 small, 6-11 medium, >= 12 large
# size = "medium"          # set the size outright instead

[network]
# What discovery may scan. Empty: only the subnet of the interface holding the
# default route (capped at /22 unless allow_large_subnets = true).
subnets = [{subnet_list}]
interfaces = []
exclude = []
allow_large_subnets = false

[snmp]
# Tried in order; the first that answers is remembered per device.
credentials = [
  {{ version = "2c", community = "public" }},
  # {{ version = "3", user = "monitor", auth_protocol = "sha", auth_key = "…",
  #    priv_protocol = "aes", priv_key = "…" }},
]

[pjlink]
enabled = true
# password = "…"           # projectors' PJLink password, if set

[collector]
{collector_line}

[schedule]
timezone = "Europe/Paris"
discovery_interval_min = 30
latency_interval_min = 5
throughput_tests_per_day = 4     # saturating tests, outside lesson hours only
snapshot_interval_min = 15
holidays = [
  # {{ start = "2026-12-19", end = "2027-01-04", name = "Noël" }},
]

[schedule.lesson_hours]
monday = ["08:30-11:30", "13:30-16:30"]
tuesday = ["08:30-11:30", "13:30-16:30"]
wednesday = []
thursday = ["08:30-11:30", "13:30-16:30"]
friday = ["08:30-11:30", "13:30-16:30"]
saturday = []
sunday = []

[measurement]
backend = "http"                 # http | speedtest | iperf3
# http_target = "https://collecteur.example.fr/backend/"   # LibreSpeed-compatible
# speedtest_server_id = 12345
# iperf3_server = "iperf.example.fr:5201"
max_duration_s = 10
monthly_budget_mb = 0            # 0: no budget (set one for 4G or satellite links)
window_days = 7

[status_page]
enabled = true
port = 8080
# bind = "192.168.1.10"          # default: the LAN address
# password_hash = "…"            # from: socle-agent hash-password
language = "fr"

[paths]
state_dir = {_toml_string(str(state_dir))}

# What the network cannot see: declare it here.
[declared]
storage = []                     # "ent", "cloud", "school_server", "nas"
ent_name = ""

# [[declared.classrooms]]
# name = "CP"
# displays = [{{ kind = "projector", connection = "hdmi" }}]
# workstations = 1
# network_points = 2

# [[declared.mobile_packs]]
# devices = 12
# os = "iPadOS"
"""
