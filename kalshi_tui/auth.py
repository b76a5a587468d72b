"""Request signing: Kalshi's RSA-PSS handshake headers.

The signed message is ``timestamp_ms + METHOD + path`` (path from ``/trade-api``, query
string removed), signed with RSA-PSS / SHA-256 / MGF1-SHA-256 / salt 32 and sent base64.
The private key object is held privately and never rendered: ``repr`` shows only the key id.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kalshi_tui.errors import looks_like_key

WS_PATH = "/trade-api/ws/v2"
HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"

# Said instead of the "path" when it is pasted key text, which must never be echoed.
KEY_TEXT_AS_PATH = "the key file path holds key contents, not a path: save the key to a file (chmod 600)"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


class KeyFileError(Exception):
    """A private key could not be used. The message never contains key material."""


def _message(timestamp_ms: str, method: str, path: str) -> bytes:
    return (timestamp_ms + method.upper() + path.split("?", 1)[0]).encode()


def load_private_key(
    path: str | os.PathLike[str], passphrase: str | bytes | None = None
) -> rsa.RSAPrivateKey:
    """Load a PEM RSA key (PKCS#1 or PKCS#8, optionally encrypted)."""
    if looks_like_key(os.fspath(path)):
        raise KeyFileError(KEY_TEXT_AS_PATH)
    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file not found: {path}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        # Raised both for "encrypted but no passphrase" and "passphrase for a plain key".
        if passphrase:
            raise KeyFileError(f"key file {path} is not encrypted; drop the passphrase") from None
        raise KeyFileError(f"key file {path} is encrypted: a passphrase is needed") from None
    except (ValueError, UnsupportedAlgorithm):
        if passphrase and b"ENCRYPTED" in data:
            raise KeyFileError(f"wrong passphrase for key file {path}") from None
        raise KeyFileError(f"key file {path} is not a PEM RSA private key (PKCS#1 or PKCS#8)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFileError(f"key file {path} is not an RSA key ({type(key).__name__}): Kalshi keys are RSA")
    return key


def key_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a key file is unsafe or unusable, or None if it is fine to load."""
    if looks_like_key(os.fspath(path)):
        return KEY_TEXT_AS_PATH
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        return f"key file not found: {p}"
    except OSError as exc:
        return f"cannot read key file {p}: {exc.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return f"key file {p} is not a regular file"
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return f"key file {p} is readable by others: run chmod 600 {p}"
    return None


class Signer:
    """Builds signed headers for one API key. Holds the key; never shows it."""

    __slots__ = ("_clock", "_key", "key_id")

    def __init__(
        self, key_id: str, private_key: rsa.RSAPrivateKey, clock: Callable[[], float] = time.time
    ) -> None:
        self.key_id = key_id
        self._key = private_key
        self._clock = clock

    @classmethod
    def from_file(
        cls, key_id: str, path: str | os.PathLike[str], passphrase: str | bytes | None = None
    ) -> Signer:
        return cls(key_id, load_private_key(path, passphrase))

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"

    def now(self) -> float:
        """The clock signatures are stamped with, in seconds since the epoch."""
        return self._clock()

    def sign(self, timestamp_ms: str, method: str, path: str) -> str:
        sig = self._key.sign(_message(timestamp_ms, method, path), _PSS, hashes.SHA256())
        return base64.b64encode(sig).decode()

    def headers(self, method: str = "GET", path: str = WS_PATH) -> dict[str, str]:
        """Fresh headers for one request: a new timestamp every call."""
        ts = str(int(self._clock() * 1000))
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: ts,
            HEADER_SIGNATURE: self.sign(ts, method, path),
        }

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def verify(
    public_key: rsa.RSAPublicKey, signature_b64: str, timestamp_ms: str, method: str, path: str
) -> bool:
    """Check one signature (PSS is randomized: verify, never compare bytes)."""
    try:
        sig = base64.b64decode(signature_b64, validate=True)
        public_key.verify(sig, _message(timestamp_ms, method, path), _PSS, hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_pem(key: rsa.RSAPrivateKey, *, pkcs8: bool = True, passphrase: bytes | None = None) -> bytes:
    """Serialize a key for writing to a 0600 file (simulator and tests)."""
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)


def write_private_key(
    key: rsa.RSAPrivateKey,
    path: str | os.PathLike[str],
    *,
    pkcs8: bool = True,
    passphrase: bytes | None = None,
) -> Path:
    """Write a PEM key with mode 0600 from the first byte (never briefly world-readable)."""
    p = Path(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # The mode argument only applies to a new file: tighten an existing one before writing.
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_key_pem(key, pkcs8=pkcs8, passphrase=passphrase))
    os.chmod(p, 0o600)
    return p


def load_public_key(data: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyFileError("public key is not RSA")
    return key
