"""Request signing and key loading, with real RSA keys and real PSS verification."""

from __future__ import annotations

import base64
import re
import stat
import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kalshi_tui.auth import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    WS_PATH,
    KeyFileError,
    Signer,
    generate_key,
    key_file_problem,
    load_private_key,
    verify,
    write_private_key,
)

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return generate_key()


def _numbers(k: rsa.RSAPrivateKey) -> int:
    return k.private_numbers().d


def _pem_chunks(path: Path) -> list[str]:
    """Every 40-character run of the PEM body (what a leak would contain)."""
    body = "".join(
        line
        for line in path.read_text().splitlines()
        if line and not line.startswith("-----") and ":" not in line
    )
    return [body[i : i + 40] for i in range(0, len(body) - 40, 20)]


def _assert_no_key_material(text: str, pem: Path) -> None:
    assert "PRIVATE KEY" not in text
    for chunk in _pem_chunks(pem):
        assert chunk not in text


def _pss_verify(public_key: rsa.RSAPublicKey, signature_b64: str, message: str) -> None:
    """Independent of kalshi_tui.auth.verify: raises InvalidSignature on a bad signature."""
    public_key.verify(base64.b64decode(signature_b64, validate=True), message.encode(), PSS, hashes.SHA256())


# -- loading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pkcs8, header", [(True, "BEGIN PRIVATE KEY"), (False, "BEGIN RSA PRIVATE KEY")])
def test_loads_pkcs8_and_pkcs1(tmp_path: Path, key: rsa.RSAPrivateKey, pkcs8: bool, header: str) -> None:
    path = write_private_key(key, tmp_path / "key.pem", pkcs8=pkcs8)
    assert header in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _numbers(load_private_key(path)) == _numbers(key)


@pytest.mark.parametrize("pkcs8", [True, False])
def test_encrypted_key_needs_the_right_passphrase(
    tmp_path: Path, key: rsa.RSAPrivateKey, pkcs8: bool
) -> None:
    path = write_private_key(key, tmp_path / "enc.pem", pkcs8=pkcs8, passphrase=b"s3cret")
    assert "ENCRYPTED" in path.read_text()
    assert _numbers(load_private_key(path, "s3cret")) == _numbers(key)
    assert _numbers(load_private_key(path, b"s3cret")) == _numbers(key)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_private_key(path, "nope")
    with pytest.raises(KeyFileError, match="passphrase is needed"):
        load_private_key(path)


def test_passphrase_for_a_plain_key(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_private_key(key, tmp_path / "plain.pem")
    with pytest.raises(KeyFileError, match="not encrypted"):
        load_private_key(path, "s3cret")


def test_garbage_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileError, match="not a PEM RSA private key") as info:
        load_private_key(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.pem"
    with pytest.raises(KeyFileError, match="not found") as info:
        load_private_key(path)
    assert str(path) in str(info.value)
    assert key_file_problem(path) == f"key file not found: {path}"


def test_ec_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(KeyFileError, match="not an RSA key") as info:
        load_private_key(path)
    _assert_no_key_material(str(info.value), path)


def test_key_file_problem_flags_group_and_other_access(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_private_key(key, tmp_path / "key.pem")
    assert key_file_problem(path) is None
    path.chmod(0o640)
    assert key_file_problem(path) == f"key file {path} is readable by others: run chmod 600 {path}"
    path.chmod(0o604)
    assert key_file_problem(path) is not None
    assert key_file_problem(tmp_path) == f"key file {tmp_path} is not a regular file"


def test_rewriting_a_key_file_tightens_its_mode(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    write_private_key(key, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _numbers(load_private_key(path)) == _numbers(key)


# -- signing -----------------------------------------------------------------------------------


def test_headers_sign_the_websocket_handshake(key: rsa.RSAPrivateKey) -> None:
    signer = Signer(KEY_ID, key)
    before = time.time() * 1000
    headers = signer.headers()
    after = time.time() * 1000
    assert set(headers) == {HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE}
    assert headers[HEADER_KEY] == KEY_ID
    ts = headers[HEADER_TIMESTAMP]
    assert re.fullmatch(r"\d{13}", ts)
    assert before - 1 <= int(ts) <= after + 1
    _pss_verify(key.public_key(), headers[HEADER_SIGNATURE], ts + "GET" + "/trade-api/ws/v2")
    assert WS_PATH == "/trade-api/ws/v2"
    with pytest.raises(InvalidSignature):
        _pss_verify(key.public_key(), headers[HEADER_SIGNATURE], ts + "GET" + "/trade-api/v2")


def test_rest_signature_drops_the_query_string(key: rsa.RSAPrivateKey) -> None:
    signer = Signer(KEY_ID, key, clock=lambda: 1_700_000_000.123)
    headers = signer.headers("get", "/trade-api/v2/portfolio/fills?limit=100&cursor=abc")
    assert headers[HEADER_TIMESTAMP] == "1700000000123"
    _pss_verify(key.public_key(), headers[HEADER_SIGNATURE], "1700000000123GET/trade-api/v2/portfolio/fills")
    assert verify(
        key.public_key(), headers[HEADER_SIGNATURE], "1700000000123", "GET", "/trade-api/v2/portfolio/fills"
    )
    assert not verify(
        key.public_key(), headers[HEADER_SIGNATURE], "1700000000124", "GET", "/trade-api/v2/portfolio/fills"
    )


def test_signatures_are_randomized_and_both_verify(key: rsa.RSAPrivateKey) -> None:
    signer = Signer(KEY_ID, key)
    one = signer.sign("1700000000000", "GET", WS_PATH)
    two = signer.sign("1700000000000", "GET", WS_PATH)
    assert one != two
    assert len(base64.b64decode(one)) == 256  # 2048-bit key
    for sig in (one, two):
        _pss_verify(key.public_key(), sig, "1700000000000GET/trade-api/ws/v2")
        assert verify(key.public_key(), sig, "1700000000000", "GET", WS_PATH)


def test_verify_rejects_other_keys_and_junk(key: rsa.RSAPrivateKey) -> None:
    sig = Signer(KEY_ID, key).sign("1", "GET", WS_PATH)
    other = generate_key().public_key()
    assert not verify(other, sig, "1", "GET", WS_PATH)
    assert not verify(key.public_key(), "not base64!", "1", "GET", WS_PATH)
    assert not verify(key.public_key(), sig[:-8], "1", "GET", WS_PATH)


def test_from_file_and_public_key(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_private_key(key, tmp_path / "key.pem", pkcs8=False)
    signer = Signer.from_file(KEY_ID, path)
    public = serialization.load_pem_public_key(signer.public_key_pem())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.public_key().public_numbers()


def test_nothing_shows_key_material(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    plain = write_private_key(key, tmp_path / "plain.pem")
    enc = write_private_key(key, tmp_path / "enc.pem", passphrase=b"pw")
    signer = Signer.from_file(KEY_ID, plain)
    assert repr(signer) == f"Signer(key_id={KEY_ID!r})"
    assert not hasattr(signer, "__dict__")  # slots: no stray attribute can hold the PEM
    _assert_no_key_material(repr(signer), plain)

    messages = []
    for path, passphrase in [(enc, None), (enc, "wrong"), (plain, "pw")]:
        with pytest.raises(KeyFileError) as info:
            load_private_key(path, passphrase)
        messages.append(str(info.value))
    truncated = tmp_path / "truncated.pem"
    truncated.write_text(plain.read_text()[:600])
    with pytest.raises(KeyFileError) as info:
        load_private_key(truncated)
    messages.append(str(info.value))
    assert len(messages) == 4
    for text in messages:
        _assert_no_key_material(text, plain)
        _assert_no_key_material(text, enc)
        assert "\n" not in text
