"""Key material: from settings in production; generated locally on first use in sandbox mode.

Sandbox keys live under `var/sandbox_keys/` (never committed). They are created atomically with
`os.link`, so several processes starting at once end up with one key, not one each.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

from .base import GatewayNotConfigured


def _key_dir() -> Path:
    path = Path(settings.PAYMENTS_SANDBOX_KEY_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _create_once(name: str, make) -> bytes:
    final = _key_dir() / name
    if not final.exists():
        tmp = final.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        tmp.write_bytes(make())
        try:
            os.link(tmp, final)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return final.read_bytes()


def _new_private_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@cache
def sandbox_private_key(name: str) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(_create_once(f"{name}.pem", _new_private_key), password=None)


@cache
def sandbox_secret(name: str, length: int = 32) -> str:
    return _create_once(f"{name}.secret", lambda: secrets.token_urlsafe(48)[:length].encode()).decode()


@cache
def sandbox_certificate(name: str) -> x509.Certificate:
    """A self-signed certificate over the sandbox key `name` (PayPal publishes its key as a certificate)."""

    def make() -> bytes:
        key = sandbox_private_key(name)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sandbox {name}")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    return x509.load_pem_x509_certificate(_create_once(f"{name}.crt", make))


def load_public_key(pem: str):
    """A PEM public key or certificate from settings (production)."""
    if not pem:
        raise GatewayNotConfigured("no public key configured")
    data = pem.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """Our PEM private key from settings (production)."""
    if not pem:
        raise GatewayNotConfigured("no private key configured")
    return serialization.load_pem_private_key(pem.encode(), password=None)


def rsa_sha256_sign(key: rsa.RSAPrivateKey, message: bytes) -> bytes:
    return key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def rsa_sha256_verify(public_key, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True
