"""The process's shared services, opened in two steps and closed at shutdown.

:meth:`Services.open` is what taking a webhook delivery needs: the store at the schema head,
the ledger with its signing key (a wrong key stops start-up), the inbox and its writer, the
worker (not yet started), and the App key checked.  :meth:`Services.load` builds the rest —
GitHub access, the shipped policy and agent catalogue, the event handlers, the periodic jobs,
the containment watch — whose modules take most of the start-up time.  ``countersign serve``
listens between the two (``/healthz`` answers once the store is open), runs ``load`` in the
background and starts the worker and the jobs when it is done; every other route waits for it
(:mod:`github_app.server.app`).  :meth:`Services.start` does both steps (commands, tests).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from github_app.config import Settings
from github_app.github.app_key import load_app_private_key
from github_app.ledger.checkpoints import open_signing_key
from github_app.logs import get_logger
from github_app.state.containment import Containment
from github_app.state.decisions import DecisionState
from github_app.state.hook_state import HookState
from github_app.state.locks import WorkLocks
from github_app.store.database import Database
from github_app.store.ledger import Ledger
from github_app.webhooks.inbox import Delivery, Inbox
from github_app.webhooks.intake import Intake
from github_app.webhooks.worker import Worker

if TYPE_CHECKING:
    import httpx

    from github_app.core.catalogue import Catalogue, CatalogueCache
    from github_app.github.client import GitHubClient
    from github_app.github.repo_policies import RepoPolicies
    from github_app.jobs.containment_watch import ContainmentWatch
    from github_app.jobs.scheduler import Scheduler
    from github_app.policy.model import Policy

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
    github: GitHubClient | None = None
    intake: Intake = field(init=False)
    worker: Worker = field(init=False)
    hook_state: HookState = field(init=False)
    # Built by load():
    default_policy: Policy = field(init=False)
    catalogue: Catalogue = field(init=False)
    alert_client: httpx.AsyncClient = field(init=False)
    scheduler: Scheduler = field(init=False)
    containment_watch: ContainmentWatch = field(init=False)
    catalogues: CatalogueCache = field(init=False)
    repo_policies: RepoPolicies = field(init=False)
    _loading: asyncio.Future[None] | None = field(default=None, init=False, repr=False)
    _dispatch: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.intake = Intake(self.db)
        self.hook_state = HookState(self.db)
        self.worker = Worker(
            self.inbox,
            self._process,
            concurrency=self.settings.countersign_worker_concurrency,
            replica=self.settings.replica_id,
        )

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
    async def open(cls, settings: Settings, *, github: GitHubClient | None = None) -> Services:
        """The first step: enough to take deliveries (see the module docstring)."""
        db, ledger = await asyncio.to_thread(cls.open_store, settings)
        if github is None and not settings.setup_mode:
            # A bad App key stops start-up here, not when the first delivery is processed.
            await asyncio.to_thread(check_app_key, settings.private_key_pem())
        return cls(
            settings=settings,
            db=db,
            ledger=ledger,
            inbox=Inbox(db),
            decisions=DecisionState(db),
            locks=WorkLocks(db),
            containment=Containment(db),
            github=github,
        )

    @classmethod
    async def start(cls, settings: Settings, *, github: GitHubClient | None = None) -> Services:
        """Both steps; the worker is started by the caller."""
        services = await cls.open(settings, github=github)
        await services.load()
        return services

    async def load(self) -> None:
        """The second step, once (concurrent callers wait for the same one; a failure is
        raised to each of them)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        await asyncio.shield(self._loading)

    @property
    def loaded(self) -> bool:
        """Whether :meth:`load` has finished successfully."""
        loading = self._loading
        return (
            loading is not None
            and loading.done()
            and not loading.cancelled()
            and loading.exception() is None
        )

    async def _load(self) -> None:
        # The imports and file parsing run in a worker thread so that, while ``serve`` loads,
        # the event loop goes on answering health checks and storing deliveries.
        await asyncio.to_thread(_build_processing, self)
        await self.containment_watch.prime()

    async def _process(self, delivery: Delivery) -> None:
        await self._dispatch(self, delivery)

    def start_background(self) -> None:
        """Start the inbox worker and the periodic jobs (sweep, rule-suite import); after
        :meth:`load`."""
        self.worker.start()
        if not self.settings.setup_mode:
            self.scheduler.start()

    async def close(self) -> None:
        """Stop background work and release connections."""
        await self.worker.stop()
        if self.loaded:
            await self.scheduler.stop()
            await self._flush_agent_operations()
            await self.alert_client.aclose()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()  # the thread finishes its imports; nothing waits for it
        if self.github is not None:
            await self.github.aclose()
        await asyncio.to_thread(self.db.engine.dispose)

    async def _flush_agent_operations(self) -> None:
        """Write every buffered agent operation to the ledger before the store closes."""
        from github_app.state.agent_sessions import AgentSessions  # loaded by load() already

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


def check_app_key(private_key_pem: str | None) -> None:
    """Raise ``ValueError`` unless the App's private key is a readable RSA key (or absent: the
    settings have already refused a configured App without one).  The GitHub client checks
    its consistency too, in :meth:`Services.load`."""
    if private_key_pem is not None:
        load_app_private_key(private_key_pem, check_consistency=False)


def _build_processing(services: Services) -> None:
    """Build the parts :meth:`Services.load` adds (runs in a worker thread).

    The modules are imported here, not at the top of this module: the policy and catalogue
    models, the event handlers, the jobs and the HTTP clients take most of the start-up time
    and none of them is needed to take a delivery.
    """
    from github_app.actions.alerts import new_alert_client
    from github_app.core.catalogue import CatalogueCache, load_catalogue
    from github_app.github.client import GitHubClient
    from github_app.github.repo_policies import RepoPolicies
    from github_app.github.throttle import ThrottlePolicy
    from github_app.jobs.containment_watch import ContainmentWatch
    from github_app.jobs.scheduler import Scheduler, default_jobs
    from github_app.policy.loader import load_default_policy
    from github_app.webhooks.dispatch import dispatch

    settings = services.settings
    if services.github is None and not settings.setup_mode:
        services.github = GitHubClient(
            app_id=settings.github_app_id,
            private_key=settings.private_key_pem(),
            base_url=settings.github_api_url,
            throttle=ThrottlePolicy(
                write_interval=settings.countersign_github_write_interval,
                incident_write_interval=settings.countersign_github_incident_write_interval,
            ),
        )
    services.default_policy = load_default_policy()
    services.catalogue = load_catalogue()
    services.catalogues = CatalogueCache(base=services.catalogue)
    services.alert_client = new_alert_client()
    # Hook decisions read the current default policy (tests and the bench replace it).
    services.repo_policies = RepoPolicies(services.github, lambda: services.default_policy)
    services.containment_watch = ContainmentWatch(services)
    services.scheduler = Scheduler(default_jobs(services))
    services._dispatch = dispatch
