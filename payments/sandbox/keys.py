"""The sandbox gateways' key material, generated locally on first use under `var/sandbox_keys/` (never
committed). Created atomically with `os.link`, so several processes starting at once end up with one key."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings


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
