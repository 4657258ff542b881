"""The public surface of ``sunmi_face_async.bulk``: the agreed names, and nothing private."""

from __future__ import annotations

import sunmi_face_async.bulk as bulk

AGREED = {
    "FaceUpload",
    "enroll",
    "export_faces",
    "delete_faces",
    "move_faces",
    "ItemResult",
    "Outcome",
    "EnrollReport",
    "Progress",
    "BulkEvent",
    "Journal",
    "read_manifest",
    "read_directory",
    "read_csv",
    "read_jsonl",
    "ManifestError",
    "write_jsonl",
    "write_csv",
}


def test_the_agreed_names_are_exported() -> None:
    assert set(bulk.__all__) >= AGREED


def test_every_exported_name_exists_and_is_public() -> None:
    for name in bulk.__all__:
        assert hasattr(bulk, name), name
        assert not name.startswith("_")
    assert len(bulk.__all__) == len(set(bulk.__all__))


def test_the_outcomes_are_the_agreed_ones_plus_checked() -> None:
    assert {o.name for o in bulk.Outcome} == {
        "DONE",
        "FAILED",
        "SKIPPED",
        "DUPLICATE",
        "UNKNOWN",
        "INVALID",
        "CHECKED",
    }
