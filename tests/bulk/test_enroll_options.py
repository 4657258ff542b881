"""``EnrollOptions``: one record of enroll's options, validated once, that the job keeps."""

from __future__ import annotations

import inspect

import attrs
import pytest

from sunmi_face_async import AsyncSunmiFace
from sunmi_face_async.bulk import EnrollOptions, FaceUpload, Outcome, enroll
from sunmi_face_async.testing import FakeSunmiCloud

from .conftest import picture


def test_the_keywords_of_enroll_are_exactly_the_options() -> None:
    keywords = {
        name: param.default
        for name, param in inspect.signature(enroll).parameters.items()
        if param.kind is inspect.Parameter.KEYWORD_ONLY
    }
    fields = {field.name: field.default for field in attrs.fields(EnrollOptions)}
    assert keywords == fields


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"external_key_slot": 6}, "external_key_slot must be 1 to 5"),
        ({"external_key_slot": 0}, "external_key_slot must be 1 to 5"),
        ({"shard": (2, 2)}, r"shard must be \(k, n\) with 0 <= k < n"),
        ({"shard": (0, 0)}, r"shard must be \(k, n\) with 0 <= k < n"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
        ({"retry_delay": -1.0}, "retry_delay cannot be negative"),
    ],
)
def test_a_bad_option_raises_one_error_naming_it(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EnrollOptions(**options)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        enroll(object(), [], **options)  # type: ignore[arg-type]


async def test_an_options_record_runs_the_same_job_and_the_job_keeps_it(
    cloud: FakeSunmiCloud, client: AsyncSunmiFace, group_id: str
) -> None:
    options = EnrollOptions(concurrency=3, external_key_slot=1, max_listed=5)
    uploads = [FaceUpload(group_id, picture(i), external_key=f"k{i}") for i in range(6)]
    job = enroll(client, uploads, options)
    assert job.options is options
    report = await job.run()
    assert report.counts[Outcome.DONE] == 6
    assert sorted(f.customer_value(1) for f in cloud.faces_in(group_id)) == [
        f"k{i}" for i in range(6)
    ]


def test_options_and_keywords_together_are_refused() -> None:
    with pytest.raises(TypeError, match=r"not both .*concurrency"):
        enroll(object(), [], EnrollOptions(), concurrency=4)  # type: ignore[arg-type]


def test_the_retry_policy_follows_the_options_without_jitter() -> None:
    policy = EnrollOptions(max_attempts=4, retry_delay=0.5).retry_policy
    assert policy.max_attempts == 4
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert policy.max_retry_after == 30.0
