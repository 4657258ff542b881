"""The end of ``enroll``: items named by manifest line and file (never an internal key),
the counts, and advice in the tool's own flags that leads somewhere that works."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..models import CUSTOM_SLOTS
from ._bulkutil import MAX_FAILURE_LINES, exit_code_for
from ._resume import global_flags
from ._runtime import State
from ._safe import safe_text

if TYPE_CHECKING:
    from ..bulk import EnrollReport

__all__ = ["show_report"]


def show_report(
    state: State,
    report: EnrollReport,
    journal: Path | None,
    *,
    dry_run: bool,
    check_command: str | None = None,
) -> int:
    from ..bulk import Outcome

    counts = report.counts
    failed = report.failures_count
    advice = _advice(report, journal, check_command, global_flags(state.flags))
    if state.json_mode:
        data = report.as_dict()
        data["advice"] = advice
        state.output.json({**data, "journal": str(journal) if journal else None})
        return exit_code_for(failed)
    where = _where_to_find(journal)
    groups = (
        # A row refused before sending (a bad manifest row, an unreadable picture) is invalid.
        (
            "failed",
            tuple(
                o
                for o in Outcome
                if o.progress_field == "failed" and o not in (Outcome.INVALID, Outcome.REJECTED)
            ),
        ),
        ("invalid", (Outcome.INVALID,)),
        ("unknown", (Outcome.UNKNOWN,)),
        ("rejected", (Outcome.REJECTED,)),
        ("unconfirmed", (Outcome.UNCONFIRMED,)),
        ("duplicate", (Outcome.DUPLICATE,)),
    )
    for word, outcomes in groups:
        total = sum(counts[o] for o in outcomes)
        _list(state, word, report.named(*outcomes), total, where)
    for line in advice:
        state.output.info(line)
    rows: dict[str, object] = {
        outcome.value: n for outcome, n in counts.items() if n or outcome is Outcome.DONE
    }
    rows["uploads sent"] = report.sent
    rows.update(_confirmation_rows(report))
    if any(report.by_store):  # a job over many stores: each store's outcomes
        for shop, by_outcome in sorted(report.by_store.items()):
            said = ", ".join(f"{n} {outcome}" for outcome, n in by_outcome.items())
            rows[f"store {shop or '(configured)'}"] = said
    rows["elapsed"] = f"{report.elapsed:.1f} s"
    rows["throughput"] = f"{report.throughput:.1f} items/s"
    if journal is not None:
        rows["journal"] = str(journal)
    state.output.summary("dry run" if dry_run else "enroll", rows)
    return exit_code_for(failed)


def _confirmation_rows(report: EnrollReport) -> dict[str, object]:
    """Accepted is not enrolled: say what was confirmed, or that nothing was."""
    said = report.confirmation
    if said["mode"] is None:
        return {"accepted": f"{said['accepted']} (not confirmed: see --confirm)"}
    return {
        "accepted": said["accepted"],
        f"confirmed ({said['mode']})": said["confirmed"],
        "rejected": said["rejected"],
        "unconfirmed": said["unconfirmed"],
    }


def _list(state: State, word: str, items: list[dict[str, Any]], total: int, where: str) -> None:
    for item in items[:MAX_FAILURE_LINES]:
        reason = item["reason"] or ("may or may not have been applied" if word == "unknown" else "")
        # One line per item: a newline in a file name or a server's reason stays "\n".
        state.output.info(f"{word}: {safe_text(item['label'])}: {safe_text(reason)}")
    hidden = total - min(len(items), MAX_FAILURE_LINES)
    if hidden > 0:
        state.output.info(f"… and {hidden} more {word}{where}")


def _where_to_find(journal: Path | None) -> str:
    if journal is None:
        return " (--json lists every one)"
    shown = shlex.quote(str(journal.absolute()))  # runs from any directory
    return f" (--json lists every one; so does sunmi-face journal show {shown})"


def _advice(
    report: EnrollReport, journal: Path | None, check_command: str | None, flags: list[str]
) -> list[str]:
    from ..bulk import Outcome

    lines = _confirm_advice(report, journal, flags)
    unknown = report.counts[Outcome.UNKNOWN]
    if not unknown:
        return lines
    named = report.named(Outcome.UNKNOWN)
    earlier = sum(1 for i in named if i["reason"] == "an earlier run left its outcome unknown")
    if earlier == unknown:
        # Their connection ended, or the journal could not record the server's answer.
        why = "an earlier run did not record the server's answer in the journal"
    elif earlier:
        why = "the connection ended before the server's answer, or an earlier run did not record it"
    else:
        why = "the connection ended before the server's answer"
    lines += [
        f"{unknown} upload(s) may or may not have been applied: {why}. Sending them again "
        "could make a second copy."
    ]
    if check_command:
        lines.append(
            "To resolve them without risking a second copy, check the group for each of them "
            f"(and record what is found in the journal): {check_command}"
        )
    else:
        lines.append("Check those faces in their group (sunmi-face faces list --group GROUP).")
    if not any(i.get("external_key") for i in report.named(Outcome.UNKNOWN)):
        lines.append(
            "For future jobs, give each item an external key (the external_key column of a "
            "manifest, or the file name for a folder) and pass --external-key-slot N (a custom "
            f"value slot, 1-{CUSTOM_SLOTS}, the group leaves free): then the tool resolves such "
            "uploads itself by listing the group. An existing journal keeps the slot it started "
            "with."
        )
    return lines


def _confirm_advice(report: EnrollReport, journal: Path | None, flags: list[str]) -> list[str]:
    said, lines = report.confirmation, []
    if said["rejected"]:
        lines.append(
            f"{said['rejected']} picture(s) were accepted, then rejected by the platform: they "
            "are not enrolled. Replace those pictures, or send them again with --resume "
            "--resend-rejected."
        )
    if said["unconfirmed"]:
        # With the global flags this run was given, so it runs as printed (the key file too).
        later = (
            shlex.join(["sunmi-face", *flags, "verify", str(journal.absolute())])
            if journal is not None
            else shlex.join(["sunmi-face", *flags, "faces", "list", "--group", "GROUP"])
        )
        lines.append(
            f"{said['unconfirmed']} accepted upload(s) got no confirmation in time: they may "
            f"not be enrolled. Check them later with: {later}"
        )
    return lines
