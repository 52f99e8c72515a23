"""DNS-SD services real school devices publish, with realistic TXT records.

Why its own module: the TXT records are long and are data, not logic; keeping
them here keeps ``catalog.py`` about the school's composition.  Values may hold
placeholders filled per host by ``catalog``: ``{ip}``, ``{mac}``, ``{mac6}``,
``{host}``, ``{uuid}``, ``{uuidhex}``, ``{serial}``, ``{room}``.
"""

from __future__ import annotations

from .model import MdnsService


def printer_services(model: str, mfg: str, note: str, mfp: bool) -> tuple[MdnsService, ...]:
    """The DNS-SD set a network printer publishes (IPP Everywhere + raw 9100 + LPD)."""
    txt = {
        "txtvers": "1",
        "qtotal": "1",
        "rp": "ipp/print",
        "ty": f"{mfg} {model}",
        "product": f"({mfg} {model})",
        "usb_MFG": mfg,
        "usb_MDL": model,
        "note": note,
        "UUID": "{uuid}",
        "adminurl": "http://{ip}/",
        "pdl": "application/pdf,image/urf,image/pwg-raster,application/postscript",
        "Color": "T",
        "Duplex": "T",
    }
    if mfp:
        txt.update({"Scan": "T", "Fax": "T"})
    inst = f"{mfg} {model} [{{mac6}}]"
    services = [
        MdnsService("_ipp._tcp", inst, 631, txt),
        MdnsService("_ipps._tcp", inst, 631, {**txt, "TLS": "1.2"}),
        MdnsService(
            "_pdl-datastream._tcp",
            inst,
            9100,
            {k: txt[k] for k in ("txtvers", "ty", "product", "usb_MFG", "usb_MDL", "note")},
        ),
    ]
    if mfp:
        services.append(scanner_service(model, mfg, note))
    return tuple(services)


def scanner_service(model: str, mfg: str, note: str) -> MdnsService:
    """eSCL (AirScan) scanner announcement."""
    txt = {
        "txtvers": "1",
        "vers": "2.63",
        "ty": f"{mfg} {model}",
        "note": note,
        "UUID": "{uuid}",
        "adminurl": "http://{ip}/",
        "rs": "eSCL",
        "representation": "http://{ip}/images/icon.png",
        "pdl": "application/pdf,image/jpeg",
        "cs": "color,grayscale,binary",
        "is": "platen,adf",
        "duplex": "T",
    }
    return MdnsService("_uscan._tcp", f"{mfg} {model} [{{mac6}}]", 80, txt)


def nas_services(model: str, vendor: str, icon_model: str) -> tuple[MdnsService, ...]:
    """SMB share plus the Finder icon hint (``model=`` is NOT the real model)."""
    return (
        MdnsService("_smb._tcp", "{host}", 445, {}),
        MdnsService("_device-info._tcp", "{host}", 0, {"model": icon_model}),
        MdnsService(
            "_http._tcp",
            "{host}",
            5000,
            {"vendor": vendor, "model": model, "serial": "{serial}", "version_major": "7"},
        ),
    )


def cast_services(model: str, mfg: str, friendly: str, airplay: bool) -> tuple[MdnsService, ...]:
    """Screen-mirroring receivers: Google Cast, optionally AirPlay."""
    out = [
        MdnsService(
            "_googlecast._tcp",
            f"{model.replace(' ', '-')}-{{uuidhex}}",
            8009,
            {"id": "{uuidhex}", "md": model, "fn": friendly, "ve": "05", "ca": "4101", "st": "0"},
        )
    ]
    if airplay:
        out.append(
            MdnsService(
                "_airplay._tcp",
                friendly,
                7000,
                {"deviceid": "{mac}", "model": model, "manufacturer": mfg, "srcvers": "366.0"},
            )
        )
    return tuple(out)
