"""A SUNMI push receiver that stores each event exactly once.

Run it (the app_key comes from the environment, never from the command line)::

    SUNMI_APP_KEY=... python examples/webhook_receiver.py --port 8000 --db events.sqlite

then subscribe it with ``await client.hooks.add("https://your.host/sunmi/push", [event])``.
It runs under any ASGI server too: ``uvicorn --factory examples.webhook_receiver:from_env``.

SUNMI retries a delivery that got no 2xx up to 4 times, so the same event can arrive
several times. Two layers make that harmless: ``callback_app`` acknowledges a duplicate it
remembers without calling the handler (its memory is a ``SqliteReplayCache`` in the same
file, so it survives restarts and is shared by several workers, e.g. ``uvicorn --workers 4``),
and the table's primary key (the event's fingerprint) makes the insert idempotent whatever
happens. When the replay cache is full, new events get 503 with ``Retry-After`` and SUNMI
delivers them again later; nothing it remembers is forgotten early.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio.to_thread

from sunmi_face_async.webhook import PushEvent, SqliteReplayCache, callback_app

logger = logging.getLogger("webhook_receiver")

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_events (
    fingerprint TEXT PRIMARY KEY,
    event INTEGER NOT NULL,
    sunmi_shop_no TEXT NOT NULL,
    payload TEXT NOT NULL,
    sent_at TEXT NOT NULL
)
"""


class EventStore:
    """Push events in SQLite, one row per distinct event."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        db = self._connect()
        try:
            with db:  # commits; it does not close (Python 3.13 warns about that)
                db.execute(_SCHEMA)
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10.0)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def save(self, event: PushEvent) -> bool:
        """Insert ``event`` unless it is already stored; True if it was new. Blocking."""
        db = self._connect()
        try:
            with db:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO push_events VALUES (?, ?, ?, ?, ?)",
                    (
                        event.fingerprint,
                        event.event,
                        event.sunmi_shop_no,
                        json.dumps(event.payload, ensure_ascii=False),
                        event.timestamp.isoformat(),
                    ),
                )
            return cursor.rowcount == 1
        finally:
            db.close()

    def count(self) -> int:
        db = self._connect()
        try:
            return int(db.execute("SELECT count(*) FROM push_events").fetchone()[0])
        finally:
            db.close()


def create_app(app_key: str, db_path: str | Path) -> ASGIApp:
    """The ASGI app: verify, de-duplicate, store. Raises in the handler mean "retry later"."""
    store = EventStore(db_path)

    async def on_event(event: PushEvent) -> None:
        # SQLite blocks: keep it off the event loop.
        new = await anyio.to_thread.run_sync(store.save, event)
        logger.info(
            "event %d for store %s: %s",
            event.event,
            event.sunmi_shop_no,
            "stored" if new else "already stored",
        )

    return callback_app(on_event, app_key, cache=SqliteReplayCache(db_path))


def from_env() -> ASGIApp:
    """App factory for ASGI servers: ``SUNMI_APP_KEY`` and ``SUNMI_PUSH_DB``."""
    app_key = os.environ.get("SUNMI_APP_KEY")
    if not app_key:
        raise SystemExit("set SUNMI_APP_KEY to the integrator's app_key")
    return create_app(app_key, os.environ.get("SUNMI_PUSH_DB", "push_events.sqlite"))


def main() -> None:
    import uvicorn  # the example's only extra dependency

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default="push_events.sqlite", help="SQLite file for the events")
    args = parser.parse_args()
    os.environ["SUNMI_PUSH_DB"] = args.db
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(from_env(), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
