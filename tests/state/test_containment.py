"""Freezes and revocations on both backends; repository names match whatever their case."""

from github_app.state.containment import Containment
from tests.support.databases import database, database_url  # noqa: F401


def test_a_repository_freeze_matches_any_case(database):  # noqa: F811
    containment = Containment(database)
    assert containment.freeze("acme/api", "incident", "secops")
    assert containment.active_freeze("Acme/API") is not None
    assert containment.active_freeze("acme/web") is None
    assert not containment.freeze("ACME/api", "again", "secops"), "already frozen"
    assert containment.unfreeze("Acme/Api", "secops")
    assert containment.active_freeze("acme/api") is None


def test_an_org_freeze_covers_every_repository(database):  # noqa: F811
    containment = Containment(database)
    containment.freeze(None, "incident", "secops")
    assert containment.active_freeze("any/repo").repo is None
    assert not containment.unfreeze("any/repo", "secops"), "a repo scope is not the org scope"
    assert containment.unfreeze(None, "secops")


def test_revocation_is_remembered_once(database):  # noqa: F811
    containment = Containment(database)
    assert containment.revoke_session("sess-1", "leak", "secops")
    assert not containment.revoke_session("sess-1", "leak", "secops")
    assert containment.is_revoked("sess-1") and not containment.is_revoked("sess-2")
    assert not containment.is_revoked(None)


def test_concurrent_freezes_of_one_scope_start_exactly_one(database):  # noqa: F811
    """Two replicas freezing the same scope at once: the database lets one insert win."""
    from concurrent.futures import ThreadPoolExecutor

    def freeze(attempt: int) -> bool:
        scope = None if attempt % 2 else "acme/API"
        return Containment(database).freeze(scope, f"incident {attempt}", "secops")

    with ThreadPoolExecutor(max_workers=8) as pool:
        started = list(pool.map(freeze, range(16)))
    assert started.count(True) == 2, "one org-wide freeze and one freeze of acme/api"
    assert len(Containment(database).active_freezes()) == 2
    assert Containment(database).unfreeze("acme/api", "secops")
    assert Containment(database).freeze("ACME/api", "again", "secops"), "a lifted scope re-freezes"


def test_the_migration_lifts_duplicate_active_freezes(database_url):  # noqa: F811
    """Duplicates left by a version without the unique index: the oldest stays in force."""
    from alembic import command

    from github_app.store import tables
    from github_app.store.database import Database, alembic_config

    db = Database.open(database_url)
    try:
        config = alembic_config()
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "ledger_idempotency")
        with db.engine.begin() as conn:
            for reason in ("first", "second"):
                conn.execute(
                    tables.freezes.insert().values(repo="acme/api", reason=reason, actor="x")
                )
        db.migrate()
        active = Containment(db).active_freezes()
        assert [freeze.reason for freeze in active] == ["first"]
    finally:
        db.dispose()
