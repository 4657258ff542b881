"""Bulk operations: enrollment, export, delete and move for thousands to millions of faces.

Everything here streams: inputs are consumed lazily, results come out as they finish, and
memory stays flat whatever the number of items. See ``enroll``, ``export_faces``,
``delete_faces``, ``move_faces`` and ``sync``.
"""

from ._adaptive import AdaptiveLimit, Signal
from ._check import Verdict, check_unknown, resolve_verdicts
from ._client import BulkClient, BulkFaces, BulkGroups
from ._confirm_store import confirmation_handler, read_push_payload, record_confirmation
from ._engine import BulkMap
from ._manifest_writer import (
    MANIFEST_COLUMNS,
    PICTURE_FIELDS,
    ManifestWriter,
    check_picture_template,
    write_manifest,
)
from ._naming import label as item_label
from ._policy import in_shard, item_key
from ._ratelimit import RateLimiter
from ._results import BulkEvent, EnrollReport, ItemResult, Outcome, Progress
from .enroll import EnrollJob, EnrollOptions, enroll
from .export import CSV_COLUMNS, export_faces, write_csv, write_jsonl
from .journal import Journal, JournalError, JournalMismatchError, JournalRow, Status
from .manifest import (
    FaceUpload,
    ManifestError,
    read_csv,
    read_directory,
    read_jsonl,
    read_manifest,
)
from .ops import delete_faces, move_faces
from .structure import PromotionStrategy, StructureItem, StructurePlan, copy_structure
from .sync import SyncAction, SyncItem, SyncJournal, SyncOptions, SyncReport, sync
from .verify import VerifyReport, verify

__all__ = [
    "CSV_COLUMNS",
    "MANIFEST_COLUMNS",
    "PICTURE_FIELDS",
    "AdaptiveLimit",
    "BulkClient",
    "BulkEvent",
    "BulkFaces",
    "BulkGroups",
    "BulkMap",
    "EnrollJob",
    "EnrollOptions",
    "EnrollReport",
    "FaceUpload",
    "ItemResult",
    "Journal",
    "JournalError",
    "JournalMismatchError",
    "JournalRow",
    "ManifestError",
    "ManifestWriter",
    "Outcome",
    "Progress",
    "PromotionStrategy",
    "RateLimiter",
    "Signal",
    "Status",
    "StructureItem",
    "StructurePlan",
    "SyncAction",
    "SyncItem",
    "SyncJournal",
    "SyncOptions",
    "SyncReport",
    "Verdict",
    "VerifyReport",
    "check_picture_template",
    "check_unknown",
    "confirmation_handler",
    "copy_structure",
    "delete_faces",
    "enroll",
    "export_faces",
    "in_shard",
    "item_key",
    "item_label",
    "move_faces",
    "read_csv",
    "read_directory",
    "read_jsonl",
    "read_manifest",
    "read_push_payload",
    "record_confirmation",
    "resolve_verdicts",
    "sync",
    "verify",
    "write_csv",
    "write_jsonl",
    "write_manifest",
]
