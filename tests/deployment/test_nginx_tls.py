"""Production TLS: nginx/tls.conf, included into the template's server block, serves the same
routes over HTTPS with the mounted certificate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.devstack import free_port
from shared.nginx_runner import TEMPLATE, NginxProcess
from shared.settings import repo_root

TLS_CONF = repo_root() / "nginx" / "tls.conf"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    crt, pem = folder / "tls.crt", folder / "tls.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return crt, pem


def test_the_template_includes_the_tls_folder_and_compose_prod_mounts_tls_conf(compose_prod) -> None:
    assert "include /etc/nginx/tls.d/*.conf;" in TEMPLATE.read_text()
    volumes = compose_prod["services"]["nginx"]["volumes"]
    assert "./nginx/tls.conf:/etc/nginx/tls.d/tls.conf:ro" in volumes
    assert any(v.endswith(":/etc/nginx/certs:ro") for v in volumes)


def test_https_serves_the_same_server_with_the_mounted_certificate(tmp_path: Path) -> None:
    try:
        from shared.nginx_runner import nginx_binary

        nginx_binary()
    except RuntimeError:
        pytest.skip("nginx binary not installed")
    crt, key = _self_signed(tmp_path)
    tls_dir = tmp_path / "tls.d"
    tls_dir.mkdir()
    https_port = free_port()
    conf = TLS_CONF.read_text().replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    conf = conf.replace("/etc/nginx/certs/tls.crt", str(crt)).replace("/etc/nginx/certs/tls.key", str(key))
    (tls_dir / "tls.conf").write_text(conf)
    template = tmp_path / "nginx.conf.template"
    template.write_text(TEMPLATE.read_text().replace("/etc/nginx/tls.d/", f"{tls_dir}/"))
    with NginxProcess(gateway_port=free_port(), template=template) as nginx:
        plain = httpx.get(f"{nginx.url}/nginx-health")
        secure = httpx.get(f"https://127.0.0.1:{https_port}/nginx-health", verify=False)  # noqa: S501
        internal = httpx.get(f"https://127.0.0.1:{https_port}/internal/x", verify=False)  # noqa: S501
    assert plain.status_code == secure.status_code == 200
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    assert internal.status_code == 404
