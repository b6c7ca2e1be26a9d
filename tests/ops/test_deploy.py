"""The files in deploy/ are what docs/deployment.md tells operators to install: the nginx site
parses (with nginx, which .ci/install-system-deps installs) and its limits match Frontdesk's own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from bot.config import ServerSettings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
_SIZES = {"": 1, "k": 1024, "m": 1024 * 1024}


def test_nginx_body_limit_matches_max_body_bytes() -> None:
    site = (DEPLOY / "nginx-frontdesk.conf").read_text()
    number, unit = re.search(r"client_max_body_size (\d+)([kKmM]?);", site).groups()  # type: ignore[union-attr]
    assert int(number) * _SIZES[unit.lower()] == ServerSettings().max_body_bytes
    timeout = re.search(r"client_body_timeout (\d+)s;", site)
    assert timeout is not None and float(timeout.group(1)) == ServerSettings().body_timeout_seconds
    assert "location = /api/v1/ws" in site and "proxy_set_header Upgrade $http_upgrade;" in site


def test_nginx_site_parses(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = (DEPLOY / "nginx-frontdesk.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/support.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/support.example.com/privkey.pem", str(key))
    (tmp_path / "site.conf").write_text(site)
    wrapper = tmp_path / "nginx.conf"
    wrapper.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    done = subprocess.run(
        [shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-q", "-p", str(tmp_path), "-c", str(wrapper)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
