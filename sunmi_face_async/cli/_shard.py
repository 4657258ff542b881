"""``--shard K/N`` or ``--shard auto``: which of N disjoint shards this process takes.

``auto`` reads the index (and count) the batch engine gives each worker:

- a Kubernetes Indexed Job: ``JOB_COMPLETION_INDEX``, the count from ``--shards`` or
  ``SUNMI_SHARDS`` (the Job's ``completions``; Kubernetes does not pass it on);
- a Slurm job array: ``SLURM_ARRAY_TASK_ID`` and ``SLURM_ARRAY_TASK_COUNT`` (an array that
  starts above 0 is counted from ``SLURM_ARRAY_TASK_MIN``; a step other than 1 is refused);
- an AWS Batch array job: ``AWS_BATCH_JOB_ARRAY_INDEX`` and ``AWS_BATCH_JOB_ARRAY_SIZE``
  (or ``--shards`` / ``SUNMI_SHARDS`` where the size is not in the environment).

A missing, malformed, contradictory or out-of-range value is one error naming the
variable. The shard resolved is what the journal records and what a printed resume command
gives (``--shard K/N``), so it runs as printed anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import click

__all__ = ["parse_shard", "resolve_shard", "shard_options"]

_ENGINES = (
    ("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", None),
    ("a Slurm job array", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"),
    ("an AWS Batch array job", "AWS_BATCH_JOB_ARRAY_INDEX", "AWS_BATCH_JOB_ARRAY_SIZE"),
)


def shard_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--shard K/N|auto`` and ``--shards N`` on a command (its parameters ``shard`` and
    ``shards``; pass them to ``resolve_shard``)."""
    command = click.option(
        "--shards",
        type=click.IntRange(min=1),
        metavar="N",
        help="With --shard auto: the shard count, where the engine does not give it (a "
        "Kubernetes Indexed Job's completions) [env: SUNMI_SHARDS].",
    )(command)
    return click.option(
        "--shard",
        metavar="K/N|auto",
        help="Only the K-th (from 0) of N disjoint shards; auto: the index a Kubernetes "
        "Indexed Job, Slurm job array or AWS Batch array job gives this worker.",
    )(command)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``K/N`` (0 <= K < N): this process takes the K-th of N disjoint shards."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 0 <= int(match[1]) < int(match[2]):
        raise click.BadParameter(
            f"{text!r} is not K/N with 0 <= K < N (or auto)", param_hint="--shard"
        )
    return int(match[1]), int(match[2])


def _number(env: Mapping[str, str], name: str, *, minimum: int) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        least = "a whole number" if minimum == 0 else f"a whole number of at least {minimum}"
        raise click.BadParameter(f"{name}={raw!r} is not {least}", param_hint="--shard auto")
    return int(text)


def _count(
    shards: int | None, env: Mapping[str, str], engine_count: tuple[str, int] | None
) -> tuple[str, int]:
    """The shard count and where it came from: the engine's, else --shards, else SUNMI_SHARDS."""
    given = ("--shards", shards) if shards is not None else None
    if given is None:
        from_env = _number(env, "SUNMI_SHARDS", minimum=1)
        given = None if from_env is None else ("SUNMI_SHARDS", from_env)
    if engine_count is not None:
        if given is not None and given[1] != engine_count[1]:
            raise click.BadParameter(
                f"{given[0]} is {given[1]} but {engine_count[0]} is {engine_count[1]}: "
                "they must agree (or leave one out)",
                param_hint="--shard auto",
            )
        return engine_count
    if given is None:
        raise click.BadParameter(
            "the shard count is not in the environment: give --shards N or set SUNMI_SHARDS "
            "(the Job's completions)",
            param_hint="--shard auto",
        )
    return given


def _slurm_index(env: Mapping[str, str], task: int) -> int:
    step = _number(env, "SLURM_ARRAY_TASK_STEP", minimum=1)
    if step not in (None, 1):
        raise click.BadParameter(
            f"SLURM_ARRAY_TASK_STEP={step}: an array with a step other than 1 (--array "
            "0-N:S) leaves gaps between the shards; use --array 0-N",
            param_hint="--shard auto",
        )
    low = _number(env, "SLURM_ARRAY_TASK_MIN", minimum=0) or 0
    if task < low:
        raise click.BadParameter(
            f"SLURM_ARRAY_TASK_ID={task} is below SLURM_ARRAY_TASK_MIN={low}",
            param_hint="--shard auto",
        )
    return task - low


def resolve_shard(
    text: str | None, *, shards: int | None = None, env: Mapping[str, str]
) -> tuple[int, int] | None:
    """``--shard`` as given (``K/N``, ``auto`` or None) made ``(K, N)``; see the module.

    ``shards`` is ``--shards``, only meaningful with ``auto``. Raises ``click.BadParameter``
    naming the variable at fault.
    """
    if text is None or text.strip().lower() != "auto":
        if shards is not None:
            raise click.BadParameter("--shards only goes with --shard auto", param_hint="--shards")
        return parse_shard(text)
    found = [(what, index, count) for what, index, count in _ENGINES if env.get(index, "").strip()]
    if not found:
        names = ", ".join(index for _, index, _ in _ENGINES)
        raise click.BadParameter(
            f"no batch engine's index is set (looked for {names}); run under a Kubernetes "
            "Indexed Job, a Slurm job array or an AWS Batch array job, or give --shard K/N",
            param_hint="--shard auto",
        )
    if len(found) > 1:
        both = " and ".join(f"{index} ({what})" for what, index, _ in found)
        raise click.BadParameter(
            f"{both} are both set: which engine runs this is unclear; unset one",
            param_hint="--shard auto",
        )
    what, index_name, count_name = found[0]
    index = _number(env, index_name, minimum=0)
    assert index is not None
    if index_name == "SLURM_ARRAY_TASK_ID":
        index = _slurm_index(env, index)
    engine_count = None
    if count_name is not None:
        count = _number(env, count_name, minimum=1)
        engine_count = None if count is None else (count_name, count)
        if engine_count is None and index_name == "SLURM_ARRAY_TASK_ID":
            raise click.BadParameter(
                f"{count_name} is not set ({what} sets it)", param_hint="--shard auto"
            )
    source, n = _count(shards, env, engine_count)
    if index >= n:
        raise click.BadParameter(
            f"{index_name}={env[index_name].strip()} is out of range for {n} shards "
            f"({source}): the index must be 0 to {n - 1}",
            param_hint="--shard auto",
        )
    return index, n
