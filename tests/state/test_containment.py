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
