"""The process's shared services, opened once at start-up and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import httpx

from github_app.actions.alerts import new_alert_client
from github_app.config import Settings
from github_app.core.catalogue import Catalogue, CatalogueCache, load_catalogue
from github_app.github.client import GitHubClient
from github_app.github.repo_policies import RepoPolicies
from github_app.github.throttle import ThrottlePolicy
from github_app.jobs.containment_watch import ContainmentWatch
from github_app.jobs.scheduler import Scheduler, default_jobs
from github_app.ledger.checkpoints import open_signing_key
from github_app.logs import get_logger
from github_app.policy.loader import load_default_policy
from github_app.policy.model import Policy
from github_app.state.agent_sessions import AgentSessions
from github_app.state.containment import Containment
from github_app.state.decisions import DecisionState
from github_app.state.hook_state import HookState
from github_app.state.locks import WorkLocks
from github_app.store.database import Database
from github_app.store.ledger import Ledger
from github_app.webhooks.dispatch import dispatch
from github_app.webhooks.inbox import Inbox
from github_app.webhooks.intake import Intake
from github_app.webhooks.worker import Worker

log = get_logger(__name__)


@dataclass
class Services:
    """Everything handlers, routes and commands share."""

    settings: Settings
    db: Database
    ledger: Ledger
    inbox: Inbox
    decisions: DecisionState
    locks: WorkLocks
    containment: Containment
    default_policy: Policy
    catalogue: Catalogue
    github: GitHubClient | None
    alert_client: httpx.AsyncClient = field(default_factory=new_alert_client)
    intake: Intake = field(init=False)
    worker: Worker = field(init=False)
    scheduler: Scheduler = field(init=False)
    containment_watch: ContainmentWatch = field(init=False)
    catalogues: CatalogueCache = field(init=False)
    repo_policies: RepoPolicies = field(init=False)
    hook_state: HookState = field(init=False)

    def __post_init__(self) -> None:
        self.intake = Intake(self.db)
        self.catalogues = CatalogueCache(base=self.catalogue)
        # Hook decisions read the current default policy (tests and the bench replace it).
        self.repo_policies = RepoPolicies(self.github, lambda: self.default_policy)
        self.hook_state = HookState(self.db)
        self.worker = Worker(
            self.inbox,
            partial(dispatch, self),
            concurrency=self.settings.countersign_worker_concurrency,
            replica=self.settings.replica_id,
        )
        self.containment_watch = ContainmentWatch(self)
        self.scheduler = Scheduler(default_jobs(self))

    @classmethod
    def open_store(cls, settings: Settings) -> tuple[Database, Ledger]:
        """Open (and migrate) the database and the ledger with its signing key.

        The key must be the one that signed the latest checkpoint (``SigningKeyError``
        otherwise, and start-up stops with that line); it is created only for a ledger without
        checkpoints.
        """
        db = Database.open(settings.database_url)
        db.migrate()
        latest = Ledger(db, None).latest_checkpoint()
        signer = open_signing_key(settings.countersign_signing_key_path, latest, create=True)
        ledger = Ledger(
            db,
            signer,
            checkpoint_every=settings.countersign_checkpoint_every,
            checkpoint_minutes=settings.countersign_checkpoint_minutes,
        )
        return db, ledger

    @classmethod
    async def start(cls, settings: Settings, *, github: GitHubClient | None = None) -> Services:
        """Open the store and GitHub access; the worker is started by the caller."""
        db, ledger = await asyncio.to_thread(cls.open_store, settings)
        if github is None and not settings.setup_mode:
            github = GitHubClient(
                app_id=settings.github_app_id,
                private_key=settings.private_key_pem(),
                base_url=settings.github_api_url,
                throttle=ThrottlePolicy(
                    write_interval=settings.countersign_github_write_interval,
                    incident_write_interval=settings.countersign_github_incident_write_interval,
                ),
            )
        services = cls(
            settings=settings,
            db=db,
            ledger=ledger,
            inbox=Inbox(db),
            decisions=DecisionState(db),
            locks=WorkLocks(db),
            containment=Containment(db),
            default_policy=load_default_policy(),
            catalogue=load_catalogue(),
            github=github,
        )
        await services.containment_watch.prime()
        return services

    def start_background(self) -> None:
        """Start the inbox worker and the periodic jobs (sweep, rule-suite import)."""
        self.worker.start()
        if not self.settings.setup_mode:
            self.scheduler.start()

    async def close(self) -> None:
        """Stop background work and release connections."""
        await self.worker.stop()
        await self.scheduler.stop()
        await self._flush_agent_operations()
        await self.alert_client.aclose()
        if self.github is not None:
            await self.github.aclose()
        await asyncio.to_thread(self.db.engine.dispose)

    async def _flush_agent_operations(self) -> None:
        """Write every buffered agent operation to the ledger before the store closes."""
        try:
            await asyncio.to_thread(
                AgentSessions(self.db, self.ledger).flush_waiting, datetime.now(UTC), None
            )
        except Exception:
            # They stay in the durable buffer; the next start's periodic flush writes them.
            log.exception("agent_operations_flush_failed")

    def catalogue_for(self, policy: Policy) -> Catalogue:
        """The agent catalogue extended with the policy's own entries (see core.catalogue).

        Raises ValueError for an entry the catalogue refuses (callers fail closed).
        """
        return self.catalogues.for_entries(policy.detection.agents)

    def status(self) -> dict[str, object]:
        """Facts for the status page."""
        head = self.ledger.head()
        checkpoint = self.ledger.latest_checkpoint()
        return {
            "GitHub App id": self.settings.github_app_id,
            "GitHub API": self.settings.github_api_url,
            "store": self.db.dialect,
            "ledger entries": head.seq if head else 0,
            "latest checkpoint size": checkpoint.size if checkpoint else "none yet",
            "deliveries waiting": self.inbox.pending_count(),
        }
