"""The "internet" web site: what ``speedtest-cli --mini`` needs, served by nginx.

Why: speedtest-cli fetches ``http://www.speedtest.net/speedtest-config.php``
even in ``--mini`` mode (the rig's hosts files point that name at the inet
host), then ``<mini>/speedtest/latency.txt``, ``random<N>x<N>.jpg`` downloads
and ``upload.php`` POSTs.  The random files are sparse files of the real sizes:
content does not matter to speedtest-cli, nginx sends them uncompressed, and
creating them costs nothing at bring-up.
"""

from __future__ import annotations

import os
from pathlib import Path

# Sizes of the files on real Speedtest Mini servers (bytes), by side length.
RANDOM_JPG_SIZES = {
    350: 245_388,
    500: 505_544,
    750: 1_118_012,
    1000: 1_986_284,
    1500: 4_468_241,
    2000: 7_907_740,
    2500: 12_407_926,
    3000: 17_816_816,
    3500: 24_262_167,
    4000: 31_625_365,
}

CONFIG_XML = """<?xml version="1.0" encoding="UTF-8"?>
<settings>
<client ip="{client_ip}" lat="48.8566" lon="2.3522" isp="Rig ISP" isprating="3.7" rating="0"
 ispdlavg="0" ispulavg="0" loggedin="0" country="FR" />
<server-config threadcount="4" ignoreids="" notonmap="" forcepingid="" preferredserverid="" />
<download testlength="10" initialtest="250K" mintestsize="250K" threadsperurl="4" />
<upload testlength="10" ratio="5" initialtest="0" mintestsize="32K" threads="2"
 maxchunksize="512K" maxchunkcount="50" threadsperurl="4" />
</settings>
"""

MINI_INDEX = """<html><head><title>Speedtest Mini (socle rig)</title></head>
<body><script>var settings = {{ upload_extension: "php", server: "{ip}" }};</script>
upload_extension: "php"
</body></html>
"""

NGINX_CONF = """worker_processes 1;
daemon off;
user root root;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    gzip off;
    types {{ text/xml xml php; image/jpeg jpg; text/plain txt; text/html html; }}
    default_type application/octet-stream;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen {ip}:80 default_server;
        server_name _;
        root {root};
        location = /speedtest-config.php {{ default_type text/xml; add_header Cache-Control no-store; }}
        location = /speedtest/upload.php {{
            client_max_body_size 64m;
            client_body_buffer_size 1m;
            return 200 "size=1\\n";
        }}
        location /speedtest/ {{ add_header Cache-Control no-store; }}
    }}
}}
"""


def build_site(root: Path, run_dir: Path, inet_ip: str, agent_ip: str) -> Path:
    """Write the document root and nginx.conf; return the config path."""
    (root / "speedtest").mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    (root / "speedtest-config.php").write_text(CONFIG_XML.format(client_ip=agent_ip))
    (root / "index.html").write_text(MINI_INDEX.format(ip=inet_ip))
    (root / "speedtest" / "latency.txt").write_text("test=test\n")
    (root / "speedtest" / "upload.php").write_text("size=1\n")
    for side, size in RANDOM_JPG_SIZES.items():
        with open(root / "speedtest" / f"random{side}x{side}.jpg", "wb") as fh:
            fh.truncate(size)
    for d in (root, root / "speedtest", run_dir):
        os.chmod(d, 0o755)
    conf = run_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(run=run_dir, ip=inet_ip, root=root))
    return conf
