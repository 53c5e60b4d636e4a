"""PayPal webhook signatures (providers.md §1.11): SHA256withRSA over
`transmission_id|transmission_time|webhook_id|crc32(raw_body)` (CRC32 unsigned, decimal).

The key and a self-signed certificate are generated once per process at start-up; the certificate
is served at `/v1/notifications/certs/CERT-sim` for clients that verify offline.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import zlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CERT_PATH = "/v1/notifications/certs/CERT-sim"
AUTH_ALGO = "SHA256withRSA"


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


@functools.lru_cache(maxsize=4)
def _key_and_cert(common_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    # One key per process and CN: generating RSA keys is slow enough to matter in a test suite.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Provider Sandbox (not PayPal)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    start = datetime.now(UTC) - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=366))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


class WebhookSigner:
    def __init__(self, common_name: str, cert_url: str) -> None:
        self.key, self.cert = _key_and_cert(common_name)
        self.cert_url = cert_url
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> str:
        message = signed_message(transmission_id, transmission_time, webhook_id, body)
        return base64.b64encode(self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()

    def verify(
        self, transmission_id: str, transmission_time: str, webhook_id: str, body: bytes, sig: str
    ) -> bool:
        try:
            raw = base64.b64decode(sig, validate=True)
            self.key.public_key().verify(
                raw,
                signed_message(transmission_id, transmission_time, webhook_id, body),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def raw_member(text: str, member: str) -> str | None:
    """The exact source text of a top-level member of a JSON object (no re-serialisation).

    PayPal verifies `webhook_event` against the bytes it sent; a client splices the raw webhook body
    into its request, so the double must recompute over the bytes *it received* (§1.10).
    """
    decoder = json.JSONDecoder()
    i = _skip(text, 0)
    if i >= len(text) or text[i] != "{":
        return None
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "}":
        key, i = decoder.raw_decode(text, i)
        i = _skip(text, i)
        if i >= len(text) or text[i] != ":":
            return None
        start = _skip(text, i + 1)
        _, end = decoder.raw_decode(text, start)
        if key == member:
            return text[start:end]
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
    return None


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i
