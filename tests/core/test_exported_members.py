"""The public surface is exactly ``__all__`` (in the manner of httpx's own test)."""

from __future__ import annotations

import types

import sunmi_face_async

EXPECTED = {
    "MAX_PAGE_SIZE",
    "NO_RETRY",
    "PRODUCTION_URL",
    "UAT_URL",
    "APIError",
    "AgeRange",
    "AsyncSunmiFace",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DataNotFoundError",
    "DatabaseError",
    "DefaultGroupDeleteError",
    "DefaultGroupUpdateError",
    "Face",
    "FaceGroup",
    "FaceNotInGroupError",
    "FacePage",
    "FileStorageError",
    "Gender",
    "GroupCreationFailedError",
    "GroupExistsError",
    "GroupLookupError",
    "GroupNotEmptyError",
    "GroupNotFoundError",
    "GroupType",
    "InvalidNonceError",
    "LimitExceededError",
    "NotFoundError",
    "ParameterError",
    "ProtocolError",
    "RecordNotFoundError",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "ShopNotFoundError",
    "SignatureError",
    "SunmiError",
    "ThrottledError",
    "TimestampExpiredError",
    "TransportError",
    "ValidationError",
    "__version__",
    "canonical_string",
    "make_nonce",
    "sign_params",
    "verify_sign",
}


def test_every_name_in_all_exists() -> None:
    for name in sunmi_face_async.__all__:
        assert hasattr(sunmi_face_async, name), name


def test_every_public_name_is_in_all() -> None:
    # Submodules (errors, models, bulk, ...) become attributes once imported; they are not
    # names the package defines.
    public = {
        name
        for name, value in vars(sunmi_face_async).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(sunmi_face_async.__all__), public - set(sunmi_face_async.__all__)


def test_all_is_the_expected_list() -> None:
    assert len(sunmi_face_async.__all__) == len(set(sunmi_face_async.__all__))
    assert set(sunmi_face_async.__all__) == EXPECTED


def test_design_names_are_exported() -> None:
    """The names DESIGN.md promises to other code."""
    from sunmi_face_async import (  # noqa: F401
        AgeRange,
        AsyncSunmiFace,
        Gender,
        GroupType,
        sign_params,
    )


def test_exported_errors_share_one_base() -> None:
    for name in sunmi_face_async.__all__:
        value = getattr(sunmi_face_async, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, sunmi_face_async.SunmiError), name


def test_version_is_a_string() -> None:
    assert isinstance(sunmi_face_async.__version__, str)
    assert sunmi_face_async.__version__.count(".") >= 2
