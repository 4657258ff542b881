"""``sunmi-face strategy set``: when strangers are promoted into a group automatically."""

from __future__ import annotations

import re

import click

from ._app import cli, output_options
from ._runtime import State, pass_state, resolve_group, run_async

__all__ = ["parse_period", "strategy"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PERIOD = re.compile(r"(\d+)([smhdw]?)")


def parse_period(text: str) -> int:
    """Seconds in ``text``: ``604800``, ``7d``, ``12h``, ``30m``, ``2w`` or ``1d12h``."""
    compact = text.strip().lower().replace(" ", "")
    if not compact or _PERIOD.sub("", compact):
        raise click.BadParameter(f"{text!r} is not a period like 7d, 12h, 30m or 604800")
    seconds = sum(int(n) * _UNITS[unit or "s"] for n, unit in _PERIOD.findall(compact))
    if seconds <= 0:
        raise click.BadParameter("the period must be longer than 0 seconds")
    return seconds


@cli.group()
def strategy() -> None:
    """The automatic promotion of strangers into a group."""


@strategy.command("set")
@click.option("--target", "-t", required=True, help="Group (id or name) strangers move into.")
@click.option("--threshold", type=click.IntRange(min=1), required=True, help="Sightings needed.")
@click.option("--period", required=True, help="Within this time: 7d, 12h, 30m or seconds.")
@output_options
@pass_state
def set_strategy(state: State, target: str, threshold: int, period: str) -> None:
    """Promote a stranger seen THRESHOLD times within PERIOD into the target group.

    \b
    Example:
      sunmi-face strategy set --target regular --threshold 4 --period 7d
    """
    seconds = parse_period(period)

    async def body() -> str:
        async with state.client() as client:
            found = await resolve_group(client, target)
            await client.groups.update_move_strategy(
                target_group_id=found.group_id, threshold=threshold, period=seconds
            )
            return found.group_id

    group_id = run_async(body)
    state.output.done(
        f"strangers seen {threshold} times within {seconds}s now move to {group_id}",
        target_group_id=group_id,
        threshold=threshold,
        period=seconds,
    )
