"""No test here touches real DNS: alert hosts resolve through a fake, public by default."""

from __future__ import annotations

import socket

import pytest

PUBLIC_ADDRESS = "93.184.215.14"


class FakeDns:
    """Host name -> addresses; unknown names fail to resolve, like NXDOMAIN."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {
            "alerts.example.com": [PUBLIC_ADDRESS],
            "hooks.slack.example.com": [PUBLIC_ADDRESS, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
        }
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch) -> FakeDns:
    """Replace the alert resolver for every test in this directory."""
    dns = FakeDns()
    monkeypatch.setattr("github_app.actions.alerts.resolve_host", dns)
    return dns
