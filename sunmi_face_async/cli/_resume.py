"""What ``enroll`` records in its journal, how ``--resume`` takes it back, and the commands
the tool prints for the user to run next (complete, and quoted for the shell).

The journal keeps the job's settings (source, group, shard, rate, concurrency, external key
slot, base URL, store, app id, timeout), never the key. On ``--resume`` a setting not given
again is taken from the journal; one given that contradicts what identifies the job (the
source, group, shard, key slot or store) is refused, naming the difference.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._config import ConfigFlags, Settings
from ._exits import CliError

__all__ = [
    "JobSettings",
    "fingerprint",
    "journal_problem",
    "mismatch_message",
    "open_recorded",
    "resume_command",
]

# How the library's identity names map to what the user typed.
FLAG_NAMES = {
    "group": "--group",
    "shard": "--shard",
    "external_key_slot": "--external-key-slot",
    "source": "SOURCE",
    "store": "--shop-no / --shop-id",
    "base_url": "--base-url",
    "app_id": "--app-id",
}


@attrs.frozen
class JobSettings:
    """An enroll job's settings, as recorded in its journal (JSON-able, no secret)."""

    source: str
    group: str | None
    create_group: bool
    shard: str | None
    rate: float | None
    concurrency: int
    external_key_slot: int | None
    base_url: str
    shop_no: str | None
    shop_id: str | None
    app_id: str
    timeout: float
    fingerprint: str = ""
    per_store_concurrency: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSettings | None:
        names = {f.name for f in attrs.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError:
            return None  # an older or foreign journal: nothing to take back


def fingerprint(source: Path) -> str:
    """A digest of what the source holds: a manifest's bytes, or a folder's names and sizes."""
    digest = hashlib.sha256()
    try:
        if source.is_dir():
            for entry in sorted(os.scandir(source), key=lambda e: e.name):
                if entry.is_file():
                    digest.update(f"{entry.name}\0{entry.stat().st_size}\n".encode())
        else:
            with source.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()[:16]


def open_recorded(
    path: Path, group: str | None = None, flags: ConfigFlags | None = None
) -> JobSettings | None:
    """The settings a journal recorded for ``--resume``; CliError if it cannot be resumed."""
    from ..bulk import Journal
    from ..bulk.journal import JournalError

    try:
        with Journal(path, resume=True) as journal:
            job = journal.job()
    except JournalError as exc:
        raise CliError(journal_problem(exc, group=group, flags=flags)) from None
    return None if job is None else JobSettings.from_dict(job[1])


def _read_only_job(path: str) -> JobSettings | None:
    """The job a journal records, read without writing (a full disk still reads)."""
    import sqlite3

    try:
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute("SELECT settings FROM job WHERE id = 1").fetchone()
        return None if found is None else JobSettings.from_dict(json.loads(found[0]))
    except (sqlite3.Error, OSError, ValueError):
        return None


def journal_problem(
    exc: Exception,
    resume: str | None = None,
    group: str | None = None,
    *,
    fresh: str | None = None,
    flags: ConfigFlags | None = None,
) -> str:
    """A journal error, with what to do about it in the tool's own terms.

    ``resume`` is the command that resumes the job, ``fresh`` the one that starts it again
    (for a journal that records no job yet); without ``resume`` the command is built from
    what the journal records, with ``flags``.
    """
    kind = getattr(exc, "kind", "")
    path = getattr(exc, "path", "")
    if kind == "busy":
        return f"{exc}: wait for that job to end (or stop it), then run this command again"
    if kind in ("missing", "empty", "damaged"):
        export = shlex.join(["sunmi-face", "export", "--group", group or "GROUP"])
        return (
            f"{exc}. It cannot tell what was uploaded, so it is not taken as empty (that would "
            f"send everything again). If this job ran before, see what the group holds "
            f"({export}), then enroll only what is missing with a new "
            f"--journal PATH; keep {path} aside"
        )
    if kind == "io":
        fix = "Free some space (or make the folder writable)"
        if not path or not os.path.exists(path):
            # No job was recorded (a journal that could not be created is removed).
            again = f": {fresh}" if fresh else ""
            return f"{exc}. Nothing was sent. {fix}, then run the same command again{again}"
        recorded = _read_only_job(path) if resume is None and flags is not None else None
        if recorded is not None and flags is not None:
            resume = resume_command(recorded, Path(path), flags)
        again = f": {resume}" if resume else " with --resume"
        return (
            f"{exc}. Nothing more is sent without the journal; what is done is recorded. "
            f"{fix}, then resume{again}{_unrecorded(exc, path)}"
        )
    return str(exc)


def _unrecorded(exc: Exception, path: str) -> str:
    """The answers the journal could not record: a resume finds those items unknown."""
    found: Mapping[str, tuple[str, str | None]] = getattr(exc, "unrecorded", {})
    if not found:
        return ""
    shown = [
        f"{named} (face_id {face_id})" if face_id else f"{named} (refused)"
        for named, face_id in list(found.values())[:10]
    ]
    more = f", … and {len(found) - 10} more" if len(found) > 10 else ""
    check = shlex.join(["sunmi-face", "journal", "check", path])
    return (
        f". The server answered {len(found)} upload(s) whose answer the journal could not "
        f"record: {', '.join(shown)}{more}; the resume reports them as unknown to the "
        f"journal ({check} resolves them)"
    )


def mismatch_message(
    path: Path, differences: Sequence[tuple[str, Any, Any]], resume: str | None
) -> str:
    """Why a journal refuses this job, in flag names, and the command that resumes its own."""
    said = "; ".join(
        f"{FLAG_NAMES.get(name, name)} is {_shown(now)} here but {_shown(then)} in the journal"
        for name, then, now in differences
    )
    again = f"; to resume the journal's job run: {resume}" if resume else ""
    return (
        f"the journal {path} belongs to another job: {said}{again}; "
        "or pass --journal NEW_PATH to start a new job"
    )


def _shown(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def resume_command(
    settings: JobSettings, journal: Path, flags: ConfigFlags, *, resume: bool = True
) -> str:
    """``sunmi-face ... enroll SOURCE ... --journal J --resume``: runs as printed.

    Global flags given as flags are repeated (the key's source too, never the key); the
    job's own settings are spelled out, though the journal holds them as well. With
    ``resume=False``: the same job started afresh (for a journal that recorded no job).
    """
    args = ["sunmi-face", *global_flags(flags), "enroll", settings.source]
    if settings.group is not None:
        args += ["--group", settings.group]
    args += ["--journal", os.path.abspath(journal), *(["--resume"] if resume else [])]
    if settings.shard is not None:
        args += ["--shard", settings.shard]
    if settings.rate is not None:
        args += ["--rate", f"{settings.rate:g}"]
    args += ["--concurrency", str(settings.concurrency)]
    if settings.per_store_concurrency is not None:
        args += ["--per-store-concurrency", str(settings.per_store_concurrency)]
    if settings.external_key_slot is not None:
        args += ["--external-key-slot", str(settings.external_key_slot)]
    return shlex.join(args)


def _absolute(path: str | None) -> str | None:
    return path if path in (None, "-", "") else os.path.abspath(path)


def global_flags(flags: ConfigFlags) -> list[str]:
    """The global flags as given (never the key itself: only where it is read from)."""
    out: list[str] = []
    for name, value in (
        ("--app-id", flags.app_id),
        # Paths absolute, so a printed command runs from any directory.
        ("--app-key-file", _absolute(flags.app_key_file)),
        ("--shop-no", flags.shop_no),
        ("--shop-id", flags.shop_id),
        ("--base-url", flags.base_url),
    ):
        if value is not None:
            out += [name, value]
    if flags.ask_key:
        out.append("--ask-key")
    if flags.uat:
        out.append("--uat")
    if flags.timeout is not None:
        out += ["--timeout", f"{flags.timeout:g}"]
    return out


def settings_for(
    *,
    source: Path,
    group: str | None,
    create_group: bool,
    shard: str | None,
    rate: float | None,
    concurrency: int,
    slot: int | None,
    client: Settings,
    per_store_concurrency: int | None = None,
) -> JobSettings:
    return JobSettings(
        source=str(source.resolve()),
        group=group,
        create_group=create_group,
        shard=shard,
        rate=rate,
        concurrency=concurrency,
        external_key_slot=slot,
        base_url=client.base_url,
        shop_no=client.shop_no,
        shop_id=client.shop_id,
        app_id=client.app_id,
        timeout=client.timeout,
        fingerprint=fingerprint(source),
        per_store_concurrency=per_store_concurrency,
    )


def take_back(
    recorded: JobSettings, flags: ConfigFlags, given: Mapping[str, Any]
) -> tuple[ConfigFlags, dict[str, Any]]:
    """The global flags and enroll options for a resume: the journal's, unless given.

    ``given`` holds the enroll options typed on this command line. A given option or flag
    that contradicts what identifies the job raises CliError naming it.
    """
    differences: list[tuple[str, Any, Any]] = []
    for name, key in (("shard", "shard"), ("external_key_slot", "external_key_slot")):
        if name in given and given[name] != getattr(recorded, key):
            differences.append((name, getattr(recorded, key), given[name]))
    for name, flag, stored in (
        ("base_url", flags.base_url, recorded.base_url),
        ("app_id", flags.app_id, recorded.app_id),
    ):
        if flag is not None and flag.rstrip("/") != stored:
            differences.append((name, stored, flag))
    store_given = flags.shop_no or flags.shop_id
    store_recorded = recorded.shop_no or recorded.shop_id
    if store_given is not None and store_given != store_recorded:
        differences.append(("store", store_recorded, store_given))
    if flags.uat and not flags.base_url:
        from ._config import UAT_URL

        if recorded.base_url != UAT_URL:
            differences.append(("base_url", recorded.base_url, UAT_URL))
    if differences:
        raise CliError(_contradiction(differences))
    restored = attrs.evolve(
        flags,
        app_id=flags.app_id or recorded.app_id,
        base_url=flags.base_url or (None if flags.uat else recorded.base_url),
        shop_no=flags.shop_no or (None if flags.shop_id else recorded.shop_no),
        shop_id=flags.shop_id or (None if flags.shop_no else recorded.shop_id),
        timeout=flags.timeout if flags.timeout is not None else recorded.timeout,
    )
    options = {
        "shard": given.get("shard", recorded.shard),
        "external_key_slot": given.get("external_key_slot", recorded.external_key_slot),
        "rate": given.get("rate", recorded.rate),
        "concurrency": given.get("concurrency", recorded.concurrency),
        "per_store_concurrency": given.get("per_store_concurrency", recorded.per_store_concurrency),
    }
    return restored, options


def _contradiction(differences: Sequence[tuple[str, Any, Any]]) -> str:
    said = "; ".join(
        f"{FLAG_NAMES.get(name, name)} {_shown(now)} contradicts the journal's {_shown(then)}"
        if then is not None
        else f"{FLAG_NAMES.get(name, name)} {_shown(now)} contradicts the journal, which has none"
        for name, then, now in differences
    )
    return (
        f"--resume continues the job recorded in the journal: {said}. Drop the option to "
        "resume that job as it was, or pass --journal NEW_PATH (without --resume) to start "
        "another job"
    )
