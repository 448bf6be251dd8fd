"""Real cryptography behind the emulator's certificates and TDE (via `cryptography`).

- CREATE CERTIFICATE: a self-signed X.509 certificate with an RSA-2048 key; the thumbprint is the
  SHA-1 of the certificate's DER, as in sys.certificates.
- BACKUP CERTIFICATE: the .cer file is the certificate's DER; the .pvk file is the emulator's own
  format: the private key as PKCS#8 DER, encrypted under the ENCRYPTION BY PASSWORD password
  (EncryptedPrivateKeyInfo, best available PBES2 scheme). A wrong password fails to decrypt.
- Inside the instance, certificate private keys are kept encrypted under a per-instance service
  master key (a random key in state_dir, like SQL Server's SMK), never in the clear.
- Database encryption keys (DEK) are random AES-256 keys stored wrapped with the certificate's RSA
  public key (OAEP-SHA256); backups of a TDE database encrypt their payload with the DEK
  (AES-256-GCM) and carry the wrapped DEK and the certificate thumbprint in the header.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID


def new_certificate(subject: str, start: datetime, expiry: datetime) -> tuple[bytes, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject or "dbshift")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start.replace(tzinfo=UTC))
        .not_valid_after(expiry.replace(tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER), key


def thumbprint(der: bytes) -> str:
    return "0x" + hashlib.sha1(der).hexdigest().upper()


def cert_details(der: bytes) -> tuple[str, datetime, datetime]:
    """(subject CN, start, expiry) of a DER certificate; ValueError when it is not one."""
    cert = x509.load_der_x509_certificate(der)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    subject = str(cns[0].value) if cns else cert.subject.rfc4514_string()
    start = cert.not_valid_before_utc.replace(tzinfo=None)
    expiry = cert.not_valid_after_utc.replace(tzinfo=None)
    return subject, start, expiry


def public_key_of(der: bytes) -> rsa.RSAPublicKey:
    key = x509.load_der_x509_certificate(der).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("certificate key is not RSA")
    return key


def protect_private_key(key: rsa.RSAPrivateKey, password: bytes) -> bytes:
    """PKCS#8 DER encrypted under password (the .pvk format, and the at-rest format under the SMK)."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


def unprotect_private_key(blob: bytes, password: bytes) -> rsa.RSAPrivateKey:
    """ValueError when the password is wrong or the blob is not an encrypted RSA private key."""
    key = serialization.load_der_private_key(blob, password=password)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("private key is not RSA")
    return key


def key_matches_cert(key: rsa.RSAPrivateKey, der: bytes) -> bool:
    return key.public_key().public_numbers() == public_key_of(der).public_numbers()


_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def new_dek() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_dek(dek: bytes, cert_der: bytes) -> bytes:
    return public_key_of(cert_der).encrypt(dek, _OAEP)


def unwrap_dek(wrapped: bytes, key: rsa.RSAPrivateKey) -> bytes:
    return key.decrypt(wrapped, _OAEP)


def encrypt(key: bytes, data: bytes, aad: bytes = b"") -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, data, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    return AESGCM(key).decrypt(blob[:12], blob[12:], aad)


def service_master_key(state_dir: Path) -> bytes:
    """The instance's service master key: 32 random bytes in state_dir, created once (mode 0600)."""
    path = state_dir / "service_master.key"
    if path.exists():
        return path.read_bytes()
    key = os.urandom(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    os.replace(tmp, path)
    return key


def default_expiry(start: datetime) -> datetime:
    return start + timedelta(days=365)


def now() -> datetime:
    """UTC now without tzinfo, to the millisecond (SQL Server datetime-ish)."""
    d = datetime.now(UTC).replace(tzinfo=None)
    return d.replace(microsecond=d.microsecond // 1000 * 1000)
