"""Key material from settings, and the RSA signing the gateways share."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .base import GatewayNotConfigured


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
