"""What the long-running daemon process imports: the heavy libraries stay in the worker.

Measured with RSS per import (bench.footprint): scapy ~21 MB, pysnmp's engine and MIBs,
zeroconf, netaddr's OUI index ~17 MB, FastAPI ~14 MB over Starlette. A stray top-level
import would quietly bring one back into a process that lives for months.
"""

from __future__ import annotations

import json
import subprocess
import sys

NOT_IN_DAEMON = (
    "scapy",
    "pysnmp",
    "zeroconf",
    "netaddr",
    "speedtest",
    "fastapi",
    "sqlalchemy",
    "probes.busy_link",
    "probes.registry",
)

CODE = """
import json, sys
sys.argv = ["socle-agent"]
import agent.cli, agent.cli_run, agent.service, agent.worker_client, agent.status
from agent.status import create_status_app
from agent.status.runtime import RuntimeInfo
print(json.dumps(sorted(sys.modules)))
"""


def test_the_daemon_process_imports_none_of_the_heavy_libraries() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    found = [
        name for name in NOT_IN_DAEMON if any(m == name or m.startswith(name + ".") for m in loaded)
    ]
    assert found == []
    assert "agent.worker" not in loaded  # the worker's entry point runs in its own process
