"""PayPal webhook signature check, offline method (providers.md §1.11).

    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc32(raw_body)}"

signed SHA256withRSA with the key of the certificate at `PAYPAL-CERT-URL`. That URL comes from
the (unauthenticated) request, so it is fetched only when it is HTTPS on an allow-listed PayPal
host — never whatever the header names (SSRF) — and the certificate must be current and chain to
a trusted root with a `*.paypal.com` subject. Tests and the sandbox use a pinned trust PEM
(`PAYPAL_CERT_TRUST_PEM`, refused in production) instead of the public roots.
"""

from __future__ import annotations

import base64
import functools
import warnings
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from payment_service.providers.base import CallRecord, Recorder, Stopwatch, no_recorder
from shared.logging import get_logger

log = get_logger(__name__)

CERT_CN_SUFFIX = ".paypal.com"


class WebhookVerificationError(Exception):
    """Why a webhook was refused (recorded; the sender only sees a generic 400)."""


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str, raw_body: bytes) -> bytes:
    crc = zlib.crc32(raw_body) & 0xFFFFFFFF  # unsigned, rendered in decimal
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def check_cert_url(url: str, allowed_hosts: frozenset[str], *, allow_http: bool = False) -> str:
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_http else {"https"}
    if parts.scheme not in schemes:
        raise WebhookVerificationError("certificate URL scheme not allowed")
    host = (parts.hostname or "").lower()
    if not host or host not in allowed_hosts or parts.username or parts.password:
        raise WebhookVerificationError("certificate host not allowed")
    return url


@functools.cache
def _public_roots() -> Any:
    """The public CA roots (certifi's bundle), loaded once."""
    import certifi
    from cryptography.x509.verification import Store

    with warnings.catch_warnings():  # the bundle holds a few legacy roots cryptography warns about
        warnings.simplefilter("ignore")
        with open(certifi.where(), "rb") as fh:
            return Store(x509.load_pem_x509_certificates(fh.read()))


class OfflineVerifier:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        allowed_hosts: frozenset[str],
        allow_http: bool = False,
        trust_pem: str = "",
        timeout: float = 10.0,
        recorder: Recorder = no_recorder,
    ) -> None:
        self.recorder = recorder
        self.http = http
        self.allowed_hosts = allowed_hosts
        self.allow_http = allow_http
        self.pinned = x509.load_pem_x509_certificates(trust_pem.encode()) if trust_pem.strip() else []
        self.timeout = timeout
        self._cache: dict[str, list[x509.Certificate]] = {}

    async def _certificates(self, url: str) -> list[x509.Certificate]:
        check_cert_url(url, self.allowed_hosts, allow_http=self.allow_http)
        if url not in self._cache:
            rec = CallRecord("paypal", "webhook.certificate", "GET", url)
            watch = Stopwatch()
            try:
                resp = await self.http.get(url, timeout=self.timeout)
            except httpx.HTTPError as exc:
                rec.error, rec.duration_ms = type(exc).__name__, watch.ms
                await self.recorder(rec)
                raise WebhookVerificationError(f"certificate fetch failed: {type(exc).__name__}") from exc
            rec.status_code, rec.duration_ms = resp.status_code, watch.ms
            await self.recorder(rec)
            if resp.status_code != 200:
                raise WebhookVerificationError(f"certificate fetch: HTTP {resp.status_code}")
            try:
                certs = x509.load_pem_x509_certificates(resp.content)
            except ValueError as exc:
                raise WebhookVerificationError("certificate is not PEM") from exc
            self._cache[url] = certs
        return self._cache[url]

    def _trust(self, chain: list[x509.Certificate], now: datetime) -> x509.Certificate:
        leaf = chain[0]
        if not (leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc):
            raise WebhookVerificationError("certificate expired or not yet valid")
        if self.pinned:
            for anchor in self.pinned:
                if leaf == anchor:
                    return leaf
                try:
                    leaf.verify_directly_issued_by(anchor)
                    return leaf
                except (ValueError, TypeError, InvalidSignature):
                    continue
            raise WebhookVerificationError("certificate not issued by the pinned trust anchor")
        cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(cn[0].value).lower() if cn else ""
        if not name.endswith(CERT_CN_SUFFIX):
            raise WebhookVerificationError("certificate subject is not a PayPal host")
        try:
            from cryptography.x509.verification import PolicyBuilder

            verifier = (
                PolicyBuilder().store(_public_roots()).time(now).build_server_verifier(x509.DNSName(name))
            )
            verifier.verify(leaf, chain[1:])
        except Exception as exc:  # any chain failure is a refusal
            raise WebhookVerificationError("certificate does not chain to a trusted root") from exc
        return leaf

    async def verify(self, headers: Mapping[str, str], raw_body: bytes, webhook_id: str) -> None:
        """Raises `WebhookVerificationError` unless the signature is PayPal's."""
        algo = headers.get("paypal-auth-algo", "")
        if algo.upper() != "SHA256WITHRSA":
            raise WebhookVerificationError("unsupported auth algorithm")
        tid = headers.get("paypal-transmission-id", "")
        ttime = headers.get("paypal-transmission-time", "")
        sig_b64 = headers.get("paypal-transmission-sig", "")
        if not (tid and ttime and sig_b64):
            raise WebhookVerificationError("missing transmission headers")
        chain = await self._certificates(headers.get("paypal-cert-url", ""))
        leaf = self._trust(chain, datetime.now(UTC))
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookVerificationError("certificate key is not RSA")
        try:
            signature = base64.b64decode(sig_b64, validate=True)
            key.verify(
                signature,
                signed_message(tid, ttime, webhook_id, raw_body),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, ValueError) as exc:
            raise WebhookVerificationError("signature does not verify") from exc
