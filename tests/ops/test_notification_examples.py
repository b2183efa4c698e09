"""The notification examples load as documented, with their secrets from files or the
environment (examples/notifications/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.daemon.notify import EventType, load_notifications

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples/notifications"


def test_the_full_example_loads_with_secrets_from_mounted_files(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "slack-url").write_text("https://hooks.slack.com/services/T0/B0/x\n")
    (secrets / "audit-hmac").write_text("key\n")
    (secrets / "github-token").write_text("ghp_x\n")
    text = (EXAMPLES / "notifications.yaml").read_text()
    copy = tmp_path / "notifications.yaml"
    copy.write_text(text.replace("/var/run/secrets/reconciler", str(secrets)))
    config = load_notifications(copy)
    routes = {event: [p.name for p in ps] for event, ps in config.routes().items()}
    assert routes[EventType.APPLIED] == ["audit", "commits"]
    assert routes[EventType.DRIFT_CORRECTED] == ["chat", "audit"]
    assert config.providers[0].url == "https://hooks.slack.com/services/T0/B0/x"


def test_the_slack_example_takes_its_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECONCILER_SLACK_URL", "https://hooks.slack.com/services/T0/B0/y")
    config = load_notifications(EXAMPLES / "slack-only.json")
    assert set(config.routes()) == {
        EventType.FAILED,
        EventType.STALLED,
        EventType.GATE_REJECTED,
        EventType.RECOVERED,
    }
