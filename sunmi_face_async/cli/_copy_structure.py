"""``sunmi-face copy-structure --to-shop B``: the configured store's groups, made to exist in B."""

from __future__ import annotations

import click

from ..bulk.structure import PromotionStrategy, StructurePlan, copy_structure
from ._app import cli, output_options
from ._exits import EXIT_USAGE, CliError
from ._runtime import State, pass_state, run_async
from ._strategy import parse_period

__all__ = ["copy_structure_command"]


@cli.command("copy-structure", short_help="Copy the store's groups to another store.")
@click.option("--to-shop", "to_shop", required=True, metavar="NO", help="Target sunmi_shop_no.")
@click.option("--plan", "plan_only", is_flag=True, help="Change nothing; print what would change.")
@click.option(
    "--strategy-group",
    metavar="GROUP",
    help="Also set the stranger promotion into this group (its name in the source store).",
)
@click.option("--threshold", type=click.IntRange(min=1), help="Sightings (with --strategy-group).")
@click.option("--period", help="Within this time: 7d, 12h or seconds (with --strategy-group).")
@output_options
@pass_state
def copy_structure_command(
    state: State,
    to_shop: str,
    plan_only: bool,
    strategy_group: str | None,
    threshold: int | None,
    period: str | None,
) -> None:
    """Create or update the target store's custom groups to match the configured store's.

    Custom groups are matched by name and get the source's capacity, description and custom
    keys; default groups are matched by type. Running it again changes nothing. The API
    cannot read a promotion strategy back, so give it with --strategy-group, --threshold
    and --period to set it in the target too.

    \b
    Examples:
      sunmi-face --shop-no S1 copy-structure --to-shop S2 --plan
      sunmi-face --shop-no S1 copy-structure --to-shop S2 --json
    """
    strategy = _strategy(strategy_group, threshold, period)

    async def body() -> StructurePlan:
        async with state.client() as client:
            if client.shop.get("sunmi_shop_no") == to_shop:
                raise CliError(f"--to-shop {to_shop!r} is the configured store itself", EXIT_USAGE)
            target = client.with_shop(sunmi_shop_no=to_shop)
            try:
                return await copy_structure(client, target, plan_only=plan_only, strategy=strategy)
            except ValueError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None

    plan = run_async(body)
    out = state.output
    if state.json_mode:
        out.json({"to_shop": to_shop, **plan.as_dict()})
        return
    for item in plan.items:
        if item.action in ("unchanged", "matched"):
            continue
        changed = ", ".join(f"{k} {v[0]!r} -> {v[1]!r}" for k, v in item.changes.items())
        out.result(f"{item.action}: {item.name}" + (f" ({changed})" if changed else ""))
    counts = ", ".join(f"{n} {action}" for action, n in plan.counts.items() if n)
    verb = "planned" if plan_only else f"done ({plan.writes} writes)"
    out.result(f"{verb} for {to_shop}: {counts or 'nothing'}")


def _strategy(
    group: str | None, threshold: int | None, period: str | None
) -> PromotionStrategy | None:
    given = [name for name, v in (("--threshold", threshold), ("--period", period)) if v]
    if group is None:
        if given:
            raise click.UsageError(f"{' and '.join(given)} need --strategy-group")
        return None
    if threshold is None or period is None:
        raise click.UsageError("--strategy-group needs --threshold and --period")
    return PromotionStrategy(group, threshold, parse_period(period))
