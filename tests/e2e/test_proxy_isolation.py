"""End to end: the README's nginx recipe (deploy/nginx-tessera.conf, run as it is) in front of a
storefront gunicorn. Twenty slow (slowloris) connections starve gunicorn when it faces them
itself, and do not stall resolve when nginx stands in front."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import storefront_headers
from tests.support.processes import ROOT, free_port, gunicorn, serving

pytestmark = pytest.mark.e2e
PROXY_FIX = "No nginx for the proxy test. Run `make proxy` (installs Debian's nginx with apt) or install nginx."
SLOW_CLIENTS = 20
RESOLVE = "/api/v1/pages/home/resolve?marketplace=US&user_id=proxy-shopper"


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)
    if found is None:
        pytest.fail(PROXY_FIX)
    return found


def nginx_config(folder: Path, listen: int, storefront: int, admin: int) -> Path:
    """The recipe with this test's ports, inside a minimal main configuration of the test's own (which,
    like Debian's, logs every request in nginx's default format unless the recipe says otherwise)."""
    site = (ROOT / "deploy" / "nginx-tessera.conf").read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    site = site.replace("127.0.0.1:8000", f"127.0.0.1:{storefront}").replace("127.0.0.1:8001", f"127.0.0.1:{admin}")
    site = site.replace("/var/log/nginx/tessera-access.log", str(folder / "access.log"))
    (folder / "tessera.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root;" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user} daemon off; worker_processes 1; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'} warn;\n"
        f"events {{ worker_connections 1024; }}\n"
        f"http {{ access_log {folder / 'access.log'}; {temp} include {folder / 'tessera.conf'}; }}\n"
    )
    return main


@contextmanager
def running_nginx(config: Path, port: int) -> Iterator[str]:
    log = config.parent / "error.log"
    process = subprocess.Popen([nginx_binary(), "-c", str(config), "-p", str(config.parent)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text() if log.exists() else "nginx exited"
                assert time.monotonic() < deadline, "nginx never listened"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def slow_clients(port: int, stack: ExitStack) -> None:
    """Connections that send the start of a request and then nothing: each holds whoever reads it."""
    for _ in range(SLOW_CLIENTS):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
        sock.sendall(
            b"GET " + RESOLVE.encode() + b" HTTP/1.1\r\nHost: shop.example\r\nX-Slow: "
        )  # no token yet: held anyway


def test_slow_clients_starve_a_bare_worker_but_not_the_proxied_storefront(instance: dict[str, str],
                                                                          tmp_path: Path) -> None:  # fmt: skip
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["TESSERA_SURFACES"] = "storefront"
    shop = storefront_headers(instance)
    app_port, proxy_port = free_port(), free_port()
    config = nginx_config(tmp_path, proxy_port, app_port, free_port())
    with serving(gunicorn("app:create_app()", app_port, workers=1, threads=4), env, app_port) as direct:
        assert httpx.get(direct + RESOLVE, headers=shop, timeout=30).status_code == 200
        with ExitStack() as stack:  # the baseline: gunicorn facing slow clients itself
            slow_clients(app_port, stack)
            with pytest.raises(httpx.TimeoutException):
                httpx.get(direct + RESOLVE, headers=shop, timeout=3)  # every thread is held: it cannot answer
        with running_nginx(config, proxy_port) as proxy, ExitStack() as stack:
            slow_clients(proxy_port, stack)
            answers = [httpx.get(proxy + RESOLVE, headers=shop, timeout=30) for _ in range(10)]
            assert [a.status_code for a in answers] == [200] * 10
            assert all(a.headers.get("X-Request-ID") for a in answers)  # nginx's id, kept by Tessera


def test_the_proxys_access_log_names_no_shopper(instance: dict[str, str], tmp_path: Path) -> None:
    """The recipe's access lines keep the path without its query string (resolve's user_id=) and put
    <user_id> for the id in /api/v1/shoppers/<id> (the erasure request), however the id is spelled."""
    env = {k: v for k, v in instance.items() if not k.startswith("ADMIN_")}
    env["TESSERA_SURFACES"] = "storefront"
    app_port, proxy_port = free_port(), free_port()
    config = nginx_config(tmp_path, proxy_port, app_port, free_port())
    shopper = "proxy-logged-shopper"
    with serving(gunicorn("app:create_app()", app_port, workers=1, threads=4), env, app_port), \
            running_nginx(config, proxy_port) as proxy:  # fmt: skip
        resolve = RESOLVE.replace("proxy-shopper", shopper)
        assert httpx.get(proxy + resolve, headers=storefront_headers(instance), timeout=30).status_code == 200
        erasure = httpx.delete(f"{proxy}/api/v1/shoppers/{shopper}", timeout=30)  # no privacy token: refused
        assert erasure.status_code == 401
        httpx.post(f"{proxy}/api/v1/shoppers/%70roxy-logged-shopper/opt-out", timeout=30)  # encoded, still hidden
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert any('"GET /api/v1/pages/home/resolve" 200' in line for line in lines), lines
    assert any('"DELETE /api/v1/shoppers/<user_id>" 401' in line for line in lines), lines
    assert any('"POST /api/v1/shoppers/<user_id>/opt-out"' in line for line in lines), lines
    assert not [line for line in lines if "logged-shopper" in line or "user_id=" in line]
