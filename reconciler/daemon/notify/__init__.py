"""Notifications: a finished pass -> events -> providers (generic JSON webhook, Slack,
GitHub commit status), chosen per event type in a file (Flux's notification-controller:
Provider + Alert). Sending never blocks or fails a pass."""

from reconciler.daemon.notify.config import (
    NotificationConfig,
    NotificationConfigError,
    load_notifications,
)
from reconciler.daemon.notify.events import Event, EventType
from reconciler.daemon.notify.sender import Notifier

__all__ = [
    "Event",
    "EventType",
    "NotificationConfig",
    "NotificationConfigError",
    "Notifier",
    "load_notifications",
]
