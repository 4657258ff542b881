"""``sunmi-face verify JOURNAL``: are the faces an enroll journal marks done really there?

The platform answers an upload with a face_id when it has accepted the picture and makes the
face afterwards, so a job can mark an item done whose face was then refused. ``verify`` lists
each group of the job once (nothing is uploaded, the journal is not changed) and reports the
done items whose face is not in its group, by manifest line and file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._app import cli, output_options
from ._exits import EXIT_FAILED, EXIT_OK, CliError
from ._resume import journal_problem, take_back
from ._runtime import State, pass_state, run_async
from ._safe import safe_text

__all__ = ["verify_command"]

#: Missing items printed before "... and N more" (``--json`` lists every one).
_SHOWN = 50


@cli.command("verify", short_help="Check that a job's done faces are in their groups.")
@click.argument("journal", type=click.Path(dir_okay=False, path_type=Path))
@output_options
@pass_state
def verify_command(state: State, journal: Path) -> int:
    """List the groups of the enroll job recorded in JOURNAL and check, for every item the
    journal marks done, that its face is there. Exits 1 when one is missing or a group
    could not be listed.

    \b
    Example:
      sunmi-face verify .sunmi-face/enroll-photos-G.sqlite --json
    """
    from ..bulk import Journal, verify
    from ..bulk.journal import JournalError

    opened = Journal(journal, resume=True)
    try:
        opened.open()
    except JournalError as exc:
        raise CliError(journal_problem(exc)) from None
    with opened:
        recorded = _recorded(opened)
        if recorded is not None:
            state.flags, _ = take_back(recorded, state.flags, {})

        async def body() -> Any:
            async with state.client() as client:
                return await verify(client, opened)

        report = run_async(body)
    return _show(state, report)


def _recorded(journal: Any) -> Any:
    from ._resume import JobSettings

    job = journal.job()
    return None if job is None else JobSettings.from_dict(job[1])


def _show(state: State, report: Any) -> int:
    code = EXIT_OK if report.ok else EXIT_FAILED
    if state.json_mode:
        state.output.json(report.as_dict())
        return code
    for item in report.missing[:_SHOWN]:
        state.output.info(  # one line per item, whatever the file name holds
            safe_text(
                f"missing: {item['label']}: face {item['face_id']} is not in group "
                f"{item['group_id']}"
            )
        )
    hidden = len(report.missing) - _SHOWN
    if hidden > 0:
        state.output.info(f"… and {hidden} more missing (--json lists every one)")
    for why in report.unlisted.values():
        state.output.warn(why)
    counts = report.as_dict()["counts"]
    rows: dict[str, object] = {
        "done in the journal": counts["done"],
        "present": counts["present"],
        "missing": counts["missing"],
    }
    if counts["unchecked"]:
        rows["not checked"] = counts["unchecked"]
    if counts["rejected"]:
        rows["rejected (already in the journal)"] = counts["rejected"]
    rows["groups listed"] = len(report.groups) - len(report.unlisted)
    state.output.summary("verify", rows)
    return code
