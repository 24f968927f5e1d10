"""The checkpoint signing key and the signed checkpoint text."""

from __future__ import annotations

import hashlib
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from github_app.ledger.checkpoints import (
    CheckpointSigner,
    checkpoint_message,
    load_or_create_signing_key,
    load_public_key_pem,
    signature_is_valid,
)

WHEN = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def test_key_is_created_on_first_use_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "ledger-signing.key"
    signer = load_or_create_signing_key(path)
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8 PEM
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert load_or_create_signing_key(path).key_id == signer.key_id


def test_key_id_is_the_start_of_the_public_key_hash(tmp_path: Path) -> None:
    signer = load_or_create_signing_key(tmp_path / "k")
    raw = load_public_key_pem(signer.public_key_pem()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    assert signer.public_key_hex == raw.hex()
    assert "PRIVATE" not in repr(signer)


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "key.pem"
    with ThreadPoolExecutor(max_workers=8) as pool:
        key_ids = set(pool.map(lambda _: load_or_create_signing_key(path).key_id, range(16)))
    assert len(key_ids) == 1


def test_checkpoint_text_is_exactly_the_documented_format() -> None:
    message = checkpoint_message(42, "ab" * 32, "cd" * 32, WHEN)
    assert message == (
        b"countersign-checkpoint/v1\n42\n" + b"ab" * 32 + b"\n" + b"cd" * 32 + b"\n"
        b"2025-03-01T12:00:00.123456Z\n"
    )


def test_signed_checkpoint_verifies_and_any_change_breaks_it() -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    checkpoint = signer.sign(size=7, root_hash="11" * 32, head_hash="22" * 32, created_at=WHEN)
    assert checkpoint.key_id == signer.key_id
    assert signature_is_valid(checkpoint, signer.public_key)
    for change in ({"size": 8}, {"root_hash": "33" * 32}, {"head_hash": "44" * 32}):
        assert not signature_is_valid(checkpoint.model_copy(update=change), signer.public_key)
    other = CheckpointSigner(Ed25519PrivateKey.generate())
    assert not signature_is_valid(checkpoint, other.public_key)
    assert not signature_is_valid(
        checkpoint.model_copy(update={"signature": "zz"}), signer.public_key
    )


def test_a_file_that_is_not_an_ed25519_key_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key")
    with pytest.raises(ValueError, match="not an unencrypted PEM private key"):
        load_or_create_signing_key(garbage)
    ec_key = tmp_path / "ec.key"
    ec_key.write_bytes(
        generate_private_key(SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_or_create_signing_key(ec_key)


def test_public_key_loader_refuses_other_keys() -> None:
    ec_public = generate_private_key(SECP256R1()).public_key()
    pem = ec_public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with pytest.raises(ValueError):
        load_public_key_pem(pem)
    with pytest.raises(ValueError):
        load_public_key_pem("garbage")
