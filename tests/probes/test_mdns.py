"""mDNS probe: TXT parsing of hostile input, and a real zeroconf announcer in a namespace LAN."""

from __future__ import annotations

from ipaddress import IPv4Network

from probes.base import ProbeContext
from probes.mdns import MAX_TXT_KEYS, TXT_VALUE_LIMIT, MdnsProbe, _Host, parse_txt
from tests.probes.netlab import lab, needs_netns


def test_txt_with_non_utf8_html_and_64k_values_is_cleaned_and_capped() -> None:
    props: dict[bytes | str, bytes | str | None] = {
        b"ty": b"Brother MFC-L2710DW \xff\xfe series",
        b"note": b"<img src=x onerror=alert(1)>\x00\x07",
        b"huge": b"A" * 65536,
        b"flag": None,
        b"\xc3(": b"bad key",
    }
    props.update({f"k{i}".encode(): b"v" for i in range(200)})
    txt = parse_txt(props)
    assert txt["ty"] == "Brother MFC-L2710DW �� series"
    assert txt["note"] == "<img src=x onerror=alert(1)>"  # kept as text; escaping is the UI's job
    assert len(txt["huge"]) == TXT_VALUE_LIMIT
    assert txt["flag"] == ""
    assert len(txt) == MAX_TXT_KEYS
    assert all(ch.isprintable() for key, value in txt.items() for ch in key + value)


def test_model_prefers_printer_keys_over_the_finder_icon_hint() -> None:
    host = _Host(
        services={"_ipp._tcp", "_device-info._tcp"},
        txt={
            "_device-info._tcp": {"model": "MacPro7,1@ECOLOR=226,226,224"},
            "_ipp._tcp": {"product": "(HP LaserJet M507)", "usb_MFG": "HP"},
        },
    )
    facts = host.facts()
    assert facts["mdns.model"] == "HP LaserJet M507"
    assert facts["mdns.manufacturer"] == "HP"
    nas = _Host(txt={"_device-info._tcp": {"model": "MacPro7,1@ECOLOR=226,226,224"}}).facts()
    assert nas["mdns.model"] == "MacPro7,1@ECOLOR=226,226,224"


async def test_no_interface_on_the_subnet_means_no_browsing() -> None:
    probe = MdnsProbe(addresses=lambda: {})
    assert await probe.run(ProbeContext(subnets=[IPv4Network("10.99.0.0/24")])) == []


ANNOUNCER = r"""
import asyncio
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncZeroconf, AsyncServiceInfo
import socket

def info(kind, name, port, txt):
    return AsyncServiceInfo(kind, f"{name}.{kind}", addresses=[socket.inet_aton("10.77.0.40")],
                            port=port, properties=txt, server="printer-3.local.")

async def main():
    zc = AsyncZeroconf(interfaces=["10.77.0.40"], ip_version=IPVersion.V4Only)
    services = [
        info("_ipp._tcp.local.", "Brother MFC <b>L2710DW</b>", 631,
             {b"ty": b"Brother MFC-L2710DW series", b"usb_MFG": b"Brother",
              b"note": b"Salle \xe9 <script>x</script>", b"Scan": b"T",
              **{f"k{i:02}".encode(): b"B" * 90 for i in range(60)}}),
        info("_uscan._tcp.local.", "Brother MFC scanner", 80, {b"ty": b"Brother MFC-L2710DW"}),
        info("_odd-thing._tcp.local.", "Only by enumeration", 1234, {b"x": b"1"}),
    ]
    await asyncio.gather(*(zc.async_register_service(s) for s in services))
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""

BROWSE = """
import asyncio, json
from ipaddress import IPv4Network
from probes.base import ProbeContext
from probes.mdns import MdnsProbe
obs = asyncio.run(MdnsProbe(browse_s=2.0).run(
    ProbeContext(subnets=[IPv4Network("10.77.0.0/24")], interface="eth0")))
print(json.dumps([o.model_dump(mode="json") for o in obs]))
"""


@needs_netns
def test_browse_resolves_a_real_announcer_and_enumerates_unknown_types() -> None:
    with lab() as net:
        agent = net.add_host("agent", "10.77.0.2")
        printer = net.add_host("prn", "10.77.0.40", "00:1b:a9:01:02:03")
        announcer = net.spawn(printer, ANNOUNCER)
        assert announcer.stdout is not None
        assert announcer.stdout.readline().strip() == "ready"
        result = net.run_json(agent, BROWSE)
    assert isinstance(result, list) and len(result) == 1
    obs = result[0]
    assert obs["ip"] == "10.77.0.40"
    facts = obs["facts"]
    assert facts["mdns.services"] == ["_ipp._tcp", "_odd-thing._tcp", "_uscan._tcp"]
    assert facts["mdns.model"] == "Brother MFC-L2710DW series"
    assert facts["mdns.manufacturer"] == "Brother"
    assert facts["mdns.hostname"] == "printer-3.local"
    ipp = facts["mdns.txt"]["_ipp._tcp"]
    assert ipp["note"] == "Salle � <script>x</script>"
    assert len(ipp) == MAX_TXT_KEYS  # 64 keys announced, ~6 KB of TXT
    assert "Brother MFC <b>L2710DW</b>" in facts["mdns.instances"]
