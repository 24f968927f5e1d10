"""Signed ledger checkpoints: the Ed25519 key, the signed text, and signature checks.

A checkpoint commits to the first ``size`` entries twice over: the RFC 9162 Merkle ``root_hash``
of their hashes and the chain's ``head_hash`` (the hash of entry ``size``).  The signature
covers exactly this UTF-8 text (each line ends with a newline)::

    countersign-checkpoint/v1
    <size>
    <root hash, lower-case hex>
    <head hash, lower-case hex>
    <created_at, RFC 3339 UTC with microseconds>

``key_id`` is the first 16 hex characters of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, field_serializer
from securesystemslib.signer import CryptoSigner, SSlibKey

from github_app.ledger.entry import rfc3339

CHECKPOINT_FORMAT = "countersign-checkpoint/v1"
KEY_FILE_MODE = 0o600


class Checkpoint(BaseModel):
    """A signed statement of the ledger's size, Merkle root and chain head at one moment."""

    model_config = ConfigDict(frozen=True)

    size: int
    root_hash: str
    head_hash: str
    created_at: AwareDatetime
    key_id: str
    public_key: str  # raw Ed25519 public key, hex
    signature: str  # Ed25519 signature over ``message()``, hex

    @field_serializer("created_at", when_used="json")
    def _serialise_created_at(self, value: datetime) -> str:
        return rfc3339(value)

    def message(self) -> bytes:
        """The exact bytes the signature covers."""
        return checkpoint_message(self.size, self.root_hash, self.head_hash, self.created_at)


def checkpoint_message(size: int, root_hash: str, head_hash: str, created_at: datetime) -> bytes:
    """The canonical checkpoint text (see the module docstring) as UTF-8 bytes."""
    lines = (CHECKPOINT_FORMAT, str(size), root_hash, head_hash, rfc3339(created_at))
    return "".join(line + "\n" for line in lines).encode("utf-8")


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """First 16 hex characters of SHA-256 over the raw public key."""
    return hashlib.sha256(raw_public_key(public_key)).hexdigest()[:16]


def public_key_to_pem(public_key: Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM text of a public key."""
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem.decode("ascii")


def load_public_key_pem(pem: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key from PEM; ``ValueError`` if it is anything else."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError) as error:
        raise ValueError("not a PEM public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the checkpoint key must be Ed25519")
    return key


def public_key_from_hex(raw_hex: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its raw bytes in hex; ``ValueError`` if malformed."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw_hex))


def signature_is_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """True when ``checkpoint.signature`` is ``public_key``'s signature of its message."""
    try:
        public_key.verify(bytes.fromhex(checkpoint.signature), checkpoint.message())
    except (InvalidSignature, ValueError):
        return False
    return True


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        """Wrap a private key (see :func:`load_or_create_signing_key`)."""
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)
        self.public_key_hex = raw_public_key(self.public_key).hex()

    def public_key_pem(self) -> str:
        """The public key as PEM text, to publish or hand to auditors."""
        return public_key_to_pem(self.public_key)

    def sign(
        self, *, size: int, root_hash: str, head_hash: str, created_at: datetime
    ) -> Checkpoint:
        """A signed checkpoint for the given tree size, root and chain head."""
        message = checkpoint_message(size, root_hash, head_hash, created_at)
        return Checkpoint(
            size=size,
            root_hash=root_hash,
            head_hash=head_hash,
            created_at=created_at,
            key_id=self.key_id,
            public_key=self.public_key_hex,
            signature=self._private_key.sign(message).hex(),
        )

    def dsse_signer(self) -> CryptoSigner:
        """A securesystemslib signer with this key, for DSSE envelopes (attestations, packs).

        DSSE signs ``PAE(payloadType, payload)``, which begins with ``DSSEv1 ``; a checkpoint
        message begins with ``countersign-checkpoint/v1``, so one key serves both and no
        signature made for one can be passed off as the other.
        """
        public = SSlibKey.from_crypto(self.public_key, keyid=self.key_id)
        return CryptoSigner(self._private_key, public)

    def __repr__(self) -> str:
        """Show the key id only, never key material."""
        return f"CheckpointSigner(key_id={self.key_id!r})"


class SigningKeyError(ValueError):
    """The signing key on disk cannot continue the ledger's checkpoints (a one-line reason)."""


def open_signing_key(
    path: str | os.PathLike[str], latest: Checkpoint | None, *, create: bool
) -> CheckpointSigner | None:
    """The key that continues the ledger: checked against the latest checkpoint's signer.

    A key is created only when ``create`` is set and the ledger has no checkpoint yet: a key
    silently recreated after loss would sign a second, unverifiable series of checkpoints.
    Without ``create`` (read-only commands) a missing key is ``None``.  Raises
    :class:`SigningKeyError` when checkpoints exist and the key is missing or another one.
    """
    key_path = Path(path)
    if not key_path.exists():
        if latest is not None:
            raise SigningKeyError(
                f"the ledger signing key {key_path} is missing, but the ledger's checkpoints "
                f"are signed by key {latest.key_id}: restore that key file"
            )
        return load_or_create_signing_key(key_path) if create else None
    signer = CheckpointSigner(_load_private_key(key_path))
    if latest is not None and latest.key_id != signer.key_id:
        raise SigningKeyError(
            f"the ledger signing key {key_path} (key {signer.key_id}) did not sign the "
            f"ledger's checkpoints (key {latest.key_id}): restore the original key file"
        )
    return signer


def load_or_create_signing_key(path: str | os.PathLike[str]) -> CheckpointSigner:
    """Load the PKCS#8 PEM Ed25519 key at ``path``, creating it (mode 0600) if missing.

    Creation is atomic: the key is written to a private temporary file and hard-linked into
    place, so concurrent first starts agree on one key and nobody reads a half-written file.
    """
    key_path = Path(path)
    if not key_path.exists():
        key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_key_file(key_path)
    return CheckpointSigner(_load_private_key(key_path))


def _create_key_file(key_path: Path) -> None:
    """Write a fresh key next to ``key_path`` and link it there unless another process won."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, temporary = tempfile.mkstemp(prefix=".signing-key-", dir=key_path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), KEY_FILE_MODE)
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
            os.link(temporary, key_path)
    finally:
        os.unlink(temporary)


def _load_private_key(key_path: Path) -> Ed25519PrivateKey:
    """Read and check the key file; the error never contains key material."""
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{key_path} is not an unencrypted PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{key_path} must hold an Ed25519 key")
    return key
