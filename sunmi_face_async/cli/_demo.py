"""``sunmi-face demo``: the whole tool in under a minute, with nothing to set up.

It starts the fake SUNMI cloud in-process with latency and injected faults, draws a few
hundred synthetic face pictures, enrolls them (journal + external key, so faults end with no
duplicates), exports them back, moves and deletes some, and prints what happened.
"""

from __future__ import annotations

import collections
import csv
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import attrs
import click

from ._app import cli, output_options
from ._bulkutil import progress_for
from ._exits import EXIT_FAILED, EXIT_OK
from ._fake_server import require_fake
from ._runtime import State, pass_state, run_async

__all__ = ["DemoPlan", "DemoResult", "demo_command", "run_demo"]

_KEY_SLOT = 1


@attrs.frozen
class DemoPlan:
    """What the demo does; the defaults finish in seconds on a small machine."""

    count: int = 300
    concurrency: int = 16
    latency: float = 0.02
    seed: int = 7
    faults: bool = True
    move: int = 60
    delete: int = 40


@attrs.define
class _Tally:
    """What the bulk layer reported through its events."""

    retries: int = 0
    reconciled_found: int = 0
    reconciled_resent: int = 0

    def event(self, event: Any) -> None:
        if event.kind == "retry":
            self.retries += 1
        elif event.kind == "reconcile":
            if event.detail == "found":
                self.reconciled_found += 1
            else:
                self.reconciled_resent += 1


def _write_manifest(workdir: Path, pictures: list[Path]) -> Path:
    """A CSV manifest: picture, name, gender, age range and a member number per face."""
    from ..bulk.export import open_atomic

    manifest = workdir / "faces.csv"
    with open_atomic(manifest) as handle:  # whole or absent, like every file the tool writes
        writer = csv.writer(handle)
        writer.writerow(["picture", "name", "gender", "age_range", "external_key"])
        for index, picture in enumerate(pictures):
            gender = ("male", "female", "unknown")[index % 3]
            writer.writerow(
                [
                    picture.relative_to(workdir).as_posix(),
                    f"Guest {index:04d}",
                    gender,
                    1 + index % 8,
                    f"M{index:06d}",
                ]
            )
    return manifest


def _faults(plan: DemoPlan) -> Any:
    from ..testing import Faults

    if not plan.faults:
        return Faults(latency=plan.latency)
    return Faults(
        latency=plan.latency,
        jitter=plan.latency / 2,
        error_rates={5000: 0.02, 503: 0.01},
        throttle_rate=0.01,
        drop_rate=0.01,
        commit_then_timeout_rate=0.02,
    )


def _describe_faults(faults: Any) -> str:
    parts = [f"{faults.latency * 1000:.0f} ms latency (+ up to {faults.jitter * 1000:.0f} ms)"]
    for code, rate in sorted(faults.error_rates.items()):
        what = f"HTTP {code}" if code >= 500 and code < 600 else f"code {code}"
        parts.append(f"{rate:.0%} {what}")
    for name, rate in (
        ("HTTP 429", faults.throttle_rate),
        ("dropped connections", faults.drop_rate),
        ("applied-then-dropped", faults.commit_then_timeout_rate),
    ):
        if rate:
            parts.append(f"{rate:.0%} {name}")
    return ", ".join(parts)


async def run_demo(state: State, plan: DemoPlan, workdir: Path) -> DemoResult:
    """Run every step against a fresh in-process fake and measure what happened."""
    from ..testing import FakeSunmiCloud
    from ..testing.pictures import write_faces

    say = state.output.info
    started = time.perf_counter()
    cloud = FakeSunmiCloud(seed=plan.seed, faults=_faults(plan))
    say(f"1. fake SUNMI cloud started in-process: {_describe_faults(cloud.faults)}")

    t0 = time.perf_counter()
    pictures = await anyio.to_thread.run_sync(write_faces, workdir / "pictures", plan.count)
    manifest = _write_manifest(workdir, pictures)
    say(
        f"2. drew {len(pictures)} synthetic 64x64 PNG faces in "
        f"{time.perf_counter() - t0:.2f} s; manifest {manifest}"
    )
    async with cloud.client() as client:
        group = await client.groups.create(
            "Demo members", capacity=plan.count * 2, customer_keys=["member_no"]
        )
        archive = await client.groups.create("Demo archive", capacity=plan.count * 2)
        say(
            f"3. enrolling into {group.name!r} ({group.group_id}) with a journal, the member "
            f"number as external key (custom slot {_KEY_SLOT}), concurrency {plan.concurrency}"
        )
        enrolled = await _enroll(state, client, plan, manifest, group.group_id, workdir)
        exported, export_seconds = await _export(state, client, group.group_id, workdir)
        say(f"4. exported {exported} faces back to export.jsonl in {export_seconds:.2f} s")

        on_server = cloud.faces_in(group.group_id)
        keys = collections.Counter(face.customer_value(_KEY_SLOT) for face in on_server)
        ids = sorted(face.face_id for face in on_server)
        moved, deleted = await _move_and_delete(
            state, client, group.group_id, archive.group_id, ids, plan
        )
        say(
            f"5. moved {moved} faces to {archive.name!r}, then deleted {deleted} of them; "
            f"the groups now hold {len(cloud.faces_in(group.group_id))} and "
            f"{len(cloud.faces_in(archive.group_id))} faces"
        )

    return DemoResult(
        pictures=plan.count,
        faces_on_server=len(keys),
        duplicates_on_server=sum(n - 1 for n in keys.values() if n > 1),
        faults_injected=dict(sorted(cloud.stats.faults_injected.items())),
        requests=sum(cloud.stats.requests_by_endpoint.values()),
        upload_requests=cloud.stats.requests_by_endpoint.get("/face/add", 0),
        exported=exported,
        export_seconds=round(export_seconds, 3),
        moved=moved,
        deleted=deleted,
        elapsed=round(time.perf_counter() - started, 3),
        **enrolled,
    )


async def _enroll(
    state: State, client: Any, plan: DemoPlan, manifest: Path, group_id: str, workdir: Path
) -> dict[str, Any]:
    """Enroll the manifest; resume from the journal while items are left failed or unknown."""
    from ..bulk import Outcome, enroll, read_manifest

    tally = _Tally()
    journal = workdir / "enroll.journal"
    t0 = time.perf_counter()
    first: dict[str, int] = {}
    for passes in range(1, 4):
        with progress_for(state, f"enroll pass {passes}") as display:
            job = enroll(
                client,
                list(read_manifest(manifest, group_id=group_id)),
                concurrency=plan.concurrency,
                journal=journal,
                external_key_slot=_KEY_SLOT,
                on_event=tally.event,
                on_progress=display.update,
            )
            report = await job.run()
        first = first or {o.value: n for o, n in report.counts.items() if n}
        left = sum(n for outcome, n in report.counts.items() if outcome.is_retryable)
        if not left:
            break
        state.output.info(f"   {left} items not done; resuming from the journal")
    return {
        "first_pass": first,
        "passes": passes,
        "done": sum(n for outcome, n in report.counts.items() if outcome.is_done),
        "failed": sum(n for o, n in report.counts.items() if o.progress_field == "failed"),
        "unknown": report.counts[Outcome.UNKNOWN],
        "bulk_retries": tally.retries,
        "reconciled_found": tally.reconciled_found,
        "reconciled_resent": tally.reconciled_resent,
        "enroll_seconds": round(time.perf_counter() - t0, 3),
    }


async def _export(state: State, client: Any, group_id: str, workdir: Path) -> tuple[int, float]:
    from ..bulk import export_faces, write_jsonl

    t0 = time.perf_counter()
    with progress_for(state, "export") as display:
        faces = export_faces(client, [group_id], on_progress=display.update)
        exported = await write_jsonl(faces, workdir / "export.jsonl")
    return exported, time.perf_counter() - t0


async def _move_and_delete(
    state: State, client: Any, group_id: str, archive_id: str, ids: list[str], plan: DemoPlan
) -> tuple[int, int]:
    """Move the first ``plan.move`` faces to the archive, then delete ``plan.delete`` there."""
    from ..bulk import delete_faces, move_faces

    with progress_for(state, "move") as display:
        moved = await move_faces(
            client,
            group_id,
            archive_id,
            ids[: plan.move],
            chunk_size=10,
            on_progress=display.update,
        )
    with progress_for(state, "delete") as display:
        deleted = await delete_faces(
            client, archive_id, ids[: plan.delete], chunk_size=10, on_progress=display.update
        )
    return sum(r.ok for r in moved), sum(r.ok for r in deleted)


@attrs.frozen
class DemoResult:
    """What the demo measured; ``ok`` when every face is on the server exactly once."""

    pictures: int
    faces_on_server: int
    duplicates_on_server: int
    first_pass: dict[str, int]
    passes: int
    done: int
    failed: int
    unknown: int
    faults_injected: dict[str, int]
    bulk_retries: int
    reconciled_found: int
    reconciled_resent: int
    requests: int
    upload_requests: int
    enroll_seconds: float
    exported: int
    export_seconds: float
    moved: int
    deleted: int
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.duplicates_on_server == 0 and self.faces_on_server == self.pictures

    @property
    def throughput(self) -> float:
        return self.pictures / self.enroll_seconds if self.enroll_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "throughput": round(self.throughput, 1), "ok": self.ok}

    def rows(self) -> dict[str, object]:
        """The summary table, one line per fact."""
        faults = ", ".join(f"{k} {v}" for k, v in self.faults_injected.items()) or "none"
        missing = self.pictures - self.faces_on_server
        return {
            "pictures": self.pictures,
            "faces on the server": f"{self.faces_on_server} ({missing} missing)",
            "duplicates on the server": self.duplicates_on_server,
            "first pass": ", ".join(f"{k} {v}" for k, v in self.first_pass.items()),
            "passes (resumed from the journal)": self.passes,
            "done / failed / unknown": f"{self.done} / {self.failed} / {self.unknown}",
            "faults injected": faults,
            "bulk retries": self.bulk_retries,
            "reconciled by external key": (
                f"{self.reconciled_found} found applied, {self.reconciled_resent} sent again"
            ),
            "requests to the fake": f"{self.requests} ({self.upload_requests} uploads)",
            "enroll": f"{self.throughput:.1f} faces/s ({self.enroll_seconds:.2f} s)",
            "export": f"{self.exported} faces in {self.export_seconds:.2f} s",
            "moved / deleted": f"{self.moved} / {self.deleted}",
            "elapsed": f"{self.elapsed:.1f} s",
        }


@cli.command("demo", short_help="Try everything on a fake cloud (no account needed).")
@click.option("--count", type=click.IntRange(1, 5000), default=300, show_default=True)
@click.option("--concurrency", type=click.IntRange(1, 256), default=16, show_default=True)
@click.option("--latency", type=click.FloatRange(min=0), default=0.02, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the fault draws.")
@click.option("--no-faults", is_flag=True, help="Latency only, no injected faults.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep pictures, manifest, journal and export in this directory.",
)
@output_options
@pass_state
def demo_command(
    state: State,
    count: int,
    concurrency: int,
    latency: float,
    seed: int,
    no_faults: bool,
    keep: Path | None,
) -> int:
    """Enroll, export, move and delete a few hundred synthetic faces on a fake cloud.

    Needs no account and no network: the fake SUNMI cloud runs in-process.
    """
    require_fake("demo")
    plan = DemoPlan(
        count=count,
        concurrency=concurrency,
        latency=latency,
        seed=seed,
        faults=not no_faults,
        move=min(60, count),
        delete=min(40, count),
    )
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        for stale in keep.glob("enroll.journal*"):  # the last run's journal: start afresh
            stale.unlink()
        summary = run_async(lambda: run_demo(state, plan, keep))
    else:
        with tempfile.TemporaryDirectory(prefix="sunmi-face-demo-") as tmp:
            summary = run_async(lambda: run_demo(state, plan, Path(tmp)))
    if state.json_mode:
        state.output.json(summary.as_dict())
    else:
        state.output.summary("demo summary", summary.rows())
        state.output.info(next_steps(keep))
    return EXIT_OK if summary.ok else EXIT_FAILED


def command_name() -> str:
    """How to run this very ``sunmi-face`` from the current directory, as a shell word.

    ``make demo`` runs ``.venv/bin/sunmi-face``, whose directory is not on ``PATH``: then the
    plain name would be "command not found", so the path is given (relative when it is below
    the current directory).
    """
    script = Path(sys.executable).with_name("sunmi-face")
    if not script.exists():
        return f"{shlex.quote(sys.executable)} -m sunmi_face_async.cli"
    on_path = shutil.which("sunmi-face")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "sunmi-face"
    try:
        shown = str(script.relative_to(Path.cwd()))
    except ValueError:
        shown = str(script)
    return shlex.quote(shown)


def next_steps(keep: Path | None) -> str:
    """What to try after the demo, as commands that run as printed from here."""
    cmd = command_name()
    lines = ["next: try the commands on the fake cloud over HTTP"]
    if keep is None:
        lines.append(f"  {cmd} demo --keep demo-files   (keeps the pictures this run deleted)")
    pictures = shlex.quote(str(keep / "pictures")) if keep is not None else "demo-files/pictures"
    lines += [
        f"  1. {cmd} fake-server --port 8765   (leave it running)",
        "  2. in another terminal, paste the `export SUNMI_...` line it printed, then:",
        f"     {cmd} groups list",
        f"     {cmd} enroll {pictures} --group Staff --create-group",
        f"     {cmd} faces list --group Staff --limit 5",
    ]
    return "\n".join(lines)
