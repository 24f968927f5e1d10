"""The GitHub App's private key, parsed without loading the JWT library or the HTTP client.

``serve`` checks the key before it listens (a bad key stops start-up); signing JWTs with it is
:mod:`github_app.github.auth`'s part.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def load_app_private_key(pem: str | bytes, *, check_consistency: bool = True) -> RSAPrivateKey:
    """Parse the App's PEM private key, failing with a message that never echoes the key.

    ``check_consistency=False`` skips OpenSSL's RSA consistency check (tens of milliseconds):
    ``serve`` parses the key that way before it listens, and the full check runs when the
    GitHub client loads the key in the second start-up step (a failure there stops the server
    too).
    """
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=not check_consistency
        )
    except (ValueError, TypeError) as exc:
        raise ValueError("the GitHub App private key is not a readable PEM private key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the GitHub App private key must be an RSA key (GitHub signs with RS256)")
    return key
