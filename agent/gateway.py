"""Which router to ask whether the link is busy, from the settings.

Its own module because it builds a `probes.busy_link.SnmpGateway`, and importing that
loads pysnmp: only the throughput worker (`agent.worker`) and the CLI need it, never
the daemon's own process.
"""

from __future__ import annotations

from agent.config import AgentSettings, SnmpV1V2Credential
from probes.busy_link import SnmpGateway


def gateway_for(settings: AgentSettings) -> SnmpGateway | None:
    """The router to ask for WAN counters, with the first v1/v2c community configured."""
    host = settings.measurement.gateway
    community = next(
        (
            c.community.get_secret_value()
            for c in settings.snmp.credentials
            if isinstance(c, SnmpV1V2Credential)
        ),
        None,
    )
    if host is None or community is None:
        return None
    return SnmpGateway(host=str(host), auth=community, port=settings.snmp.port)
