"""Settings from the environment (or env files), named as in the product contract.

Sources, weakest first: ``.env`` in the working directory, then ``countersign.env`` in the data
directory (where the setup page writes the App's credentials), then the process environment.
The data directory is ``COUNTERSIGN_DATA_DIR``, else the folder of the SQLite store, else
``data``.

Without ``GITHUB_APP_ID`` the App runs in *setup mode*: it serves the setup page and refuses
webhooks.  With an App id, the webhook secret and a private key are mandatory; a missing or
malformed setting stops start-up with one line naming the variable (:class:`ConfigError`).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CREDENTIALS_FILE_NAME = "countersign.env"

PUBLIC_API_URL = "https://api.github.com"


def github_web_url(api_url: str) -> str:
    """GitHub's web root for a REST root: ``https://github.com`` for ``api.github.com``, and
    ``https://HOST`` for a GitHub Enterprise Server root ``https://HOST/api/v3``."""
    root = api_url.rstrip("/")
    if root == PUBLIC_API_URL:
        return "https://github.com"
    return root.removesuffix("/api/v3")


def github_graphql_url(api_url: str) -> str:
    """GitHub's GraphQL endpoint for a REST root (``HOST/api/graphql`` on Enterprise Server)."""
    root = api_url.rstrip("/")
    if root == PUBLIC_API_URL:
        return f"{PUBLIC_API_URL}/graphql"
    return f"{root.removesuffix('/api/v3')}/api/graphql"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Process configuration.  Secrets are ``SecretStr`` so they never print by accident."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    github_app_id: int | None = None
    github_private_key: SecretStr | None = None
    github_private_key_path: Path | None = None
    github_webhook_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    database_url: str = "sqlite:///data/countersign.db"
    host: str = "0.0.0.0"  # noqa: S104 - a server in a container listens on all interfaces
    port: int = Field(default=3000, ge=1, le=65535)
    countersign_signing_key_path: Path = Path("data/ledger-signing.key")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    # Tunables beyond the contract (all optional).
    countersign_max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    countersign_worker_concurrency: int = Field(default=4, ge=1, le=64)
    countersign_checkpoint_every: int = Field(default=1000, ge=1)
    countersign_checkpoint_minutes: float = Field(default=60.0, gt=0)
    countersign_sweep_minutes: float = Field(default=15.0, gt=0)
    countersign_public_url: str | None = None
    # Gap between two mutating GitHub requests of one installation (GitHub asks for >= 1 s).
    countersign_github_write_interval: float = Field(default=1.0, ge=0)
    # The gap while a freeze or revocation flips the passing checks (GitHub's published point
    # limit allows 180 check-run updates a minute; 0.34 s is 176).
    countersign_github_incident_write_interval: float = Field(default=0.34, ge=0)
    # Names this process in delivery leases (``locked_by``); must stay the same across restarts
    # of one replica and differ between replicas.  Default: host name and port.
    countersign_replica_id: str | None = Field(default=None, max_length=200)
    countersign_trust_proxy: bool = False
    # Witnessed checkpoints: OWNER/REPO, or a repository name looked up in the App's one
    # organisation installation; empty turns witnessing off.
    countersign_witness_repo: str = "countersign-ledger"
    countersign_witness_branch: str = "main"
    countersign_data_dir: Path | None = None

    @property
    def data_dir(self) -> Path:
        """Where the store's files live: the SQLite folder, or ``COUNTERSIGN_DATA_DIR``."""
        if self.countersign_data_dir is not None:
            return self.countersign_data_dir
        sqlite_path = self.sqlite_path
        return sqlite_path.parent if sqlite_path is not None else Path("data")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for PostgreSQL (and in-memory SQLite)."""
        if not self.database_url.startswith("sqlite:///"):
            return None
        raw = self.database_url.removeprefix("sqlite:///").split("?", 1)[0]
        return Path(raw) if raw and raw != ":memory:" else None

    @property
    def credentials_file(self) -> Path:
        """The env file the setup page writes and configuration reads (after ``.env``)."""
        return self.data_dir / CREDENTIALS_FILE_NAME

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("github_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://api.github.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    @property
    def replica_id(self) -> str:
        """This replica's name in delivery leases."""
        return self.countersign_replica_id or f"{socket.gethostname()}:{self.port}"

    @property
    def setup_mode(self) -> bool:
        """True when no App id is configured: only the setup page is served."""
        return self.github_app_id is None

    def private_key_pem(self) -> str | None:
        """The App's PEM private key, inline or read from ``GITHUB_PRIVATE_KEY_PATH``."""
        if self.github_private_key is not None:
            # Keys pasted into env files often carry literal "\n" sequences.
            return self.github_private_key.get_secret_value().replace("\\n", "\n")
        if self.github_private_key_path is not None:
            return self.github_private_key_path.read_text(encoding="utf-8")
        return None

    def require_app_credentials(self) -> None:
        """Raise :class:`ConfigError` unless an App id comes with its secret and a usable key."""
        if self.setup_mode:
            return
        if self.github_webhook_secret is None or not self.github_webhook_secret.get_secret_value():
            raise ConfigError("GITHUB_WEBHOOK_SECRET is required when GITHUB_APP_ID is set")
        if self.github_private_key is None and self.github_private_key_path is None:
            raise ConfigError(
                "GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is required "
                "when GITHUB_APP_ID is set"
            )
        if self.github_private_key is None:
            path = self.github_private_key_path
            if path is None or not path.is_file():
                raise ConfigError(f"GITHUB_PRIVATE_KEY_PATH: no such file: {path}")
        pem = self.private_key_pem() or ""
        if "PRIVATE KEY-----" not in pem:
            variable = (
                "GITHUB_PRIVATE_KEY" if self.github_private_key else "GITHUB_PRIVATE_KEY_PATH"
            )
            raise ConfigError(f"{variable}: not a PEM private key")


def _read(env_files: tuple[Path | str, ...], overrides: dict[str, object]) -> Settings:
    try:
        return Settings(_env_file=env_files, **overrides)  # type: ignore[arg-type, call-arg]
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        raise ConfigError(f"{variable}: {first['msg']}") from None


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one :class:`ConfigError` line.

    Two passes: the first finds the data directory (from the environment and ``.env``), the
    second adds the credentials file the setup page wrote there.
    """
    settings = _read((".env",), overrides)
    credentials = settings.credentials_file
    if credentials.is_file():
        settings = _read((".env", credentials), overrides)
    settings.require_app_credentials()
    return settings
