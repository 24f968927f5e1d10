"""DSSE envelopes signed with the ledger's Ed25519 key, and their offline verification (pure).

Signing and verification are securesystemslib's (``dsse.Envelope``, ``CryptoSigner``,
``SSlibKey``): the maintained implementation of the DSSE protocol, so Countersign does not
hand-roll the pre-authentication encoding.  This module adds only what an auditor needs on top:
a payload type that must match, and one clear line for every way an envelope can be wrong.

securesystemslib skips signatures whose ``keyid`` names no key it was given, so a document
signed by another key would report "0 of 1 signatures"; :func:`verify_envelope` looks at the
key ids first and names the key that signed instead.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from github_app.ledger.checkpoints import CheckpointSigner, key_id_of, load_public_key_pem

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class EnvelopeCheck:
    """The outcome of checking one envelope; ``payload`` is set only when it verified."""

    ok: bool
    reason: str
    payload: bytes | None = None


def sign_envelope(payload: bytes, payload_type: str, signer: CheckpointSigner) -> dict[str, Any]:
    """A DSSE envelope (as a JSON-ready dict) over ``payload``, signed with the ledger key."""
    envelope = Envelope(payload=payload, payload_type=payload_type, signatures={})
    envelope.sign(signer.dsse_signer())
    return envelope.to_dict()


def verification_key(public_key: Ed25519PublicKey) -> SSlibKey:
    """The securesystemslib form of a ledger public key, under Countersign's key id."""
    return SSlibKey.from_crypto(public_key, keyid=key_id_of(public_key))


def verify_envelope(
    document: Mapping[str, Any] | bytes | str, public_key_pem: str, payload_type: str
) -> EnvelopeCheck:
    """Check a DSSE envelope against the trusted key and the expected payload type."""
    try:
        public_key = load_public_key_pem(public_key_pem)
    except ValueError as error:
        return EnvelopeCheck(False, f"unusable public key: {error}")
    envelope = _parse(document)
    if isinstance(envelope, str):
        return EnvelopeCheck(False, envelope)
    if envelope.payload_type != payload_type:
        return EnvelopeCheck(
            False, f"payloadType is {envelope.payload_type!r}, expected {payload_type!r}"
        )
    trusted = verification_key(public_key)
    signers = sorted(envelope.signatures)
    if trusted.keyid not in envelope.signatures:
        named = ", ".join(signers) or "nobody"
        return EnvelopeCheck(
            False, f"signed by key {named}, not by the trusted key {trusted.keyid}"
        )
    try:
        envelope.verify([trusted], 1)
    except VerificationError:
        return EnvelopeCheck(
            False, f"signature by key {trusted.keyid} does not match the payload (altered)"
        )
    return EnvelopeCheck(True, f"signature by key {trusted.keyid} is valid", envelope.payload)


def _parse(document: Mapping[str, Any] | bytes | str) -> Envelope | str:
    """The envelope, or why it is not one."""
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except (ValueError, UnicodeDecodeError):
            return "not a DSSE envelope: not JSON"
    if not isinstance(document, Mapping):
        return "not a DSSE envelope: expected a JSON object"
    try:
        return Envelope.from_dict(dict(document))
    except (KeyError, TypeError, ValueError, binascii.Error, AttributeError) as error:
        return f"not a DSSE envelope: {type(error).__name__} {error}".strip()
