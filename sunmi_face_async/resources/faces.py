"""``client.faces``: add, read, change and remove faces."""

from __future__ import annotations

from collections.abc import Sequence

from .. import _endpoints as ep
from .. import _validate as check
from .._convert import parse_face
from ..errors import ProtocolError
from ..models import AgeRange, Face, Gender
from ..pictures import PictureSource, read_picture
from ._base import Resource

__all__ = ["Faces"]


def _attributes(
    name: object, gender: object, age_range: object, customer_values: object
) -> dict[str, object]:
    """The checked wire form of a face's optional attributes (shared by add and update)."""
    return {
        "name": check.optional_str("name", name),
        "gender": check.enum_value("gender", gender, Gender),
        # The server reports an age range never set as 0: taken back as "unset", and not sent.
        "age_range": None
        if isinstance(age_range, int) and not isinstance(age_range, bool) and age_range == 0
        else check.enum_value("age_range", age_range, AgeRange),
        **check.custom_slots("customer_values", customer_values, "customer_value"),
    }


async def _prepare_add(
    group_id: object,
    pic: PictureSource,
    name: object,
    gender: object,
    age_range: object,
    customer_values: object,
) -> tuple[dict[str, object], bytes]:
    """The checked parameters and picture of an add (the body is checked when encoded)."""
    params = {
        "group_id": check.nonempty_str("group_id", group_id),
        **_attributes(name, gender, age_range, customer_values),
    }
    return params, await read_picture(pic)


class Faces(Resource):
    """Face endpoints of one store."""

    __slots__ = ()

    async def get(self, face_id: str) -> Face:
        data = await self._call(ep.FACE_INFO, {"face_id": check.nonempty_str("face_id", face_id)})
        return parse_face(data, ep.FACE_INFO.path)

    async def check_add(
        self,
        group_id: str,
        *,
        pic: PictureSource,
        name: str | None = None,
        gender: Gender | int | None = None,
        age_range: AgeRange | int | None = None,
        customer_values: Sequence[str | None] | None = None,
    ) -> int:
        """Run every check ``add`` runs, send nothing, and return the request body's size.

        The same code as ``add``: each field's check, the picture's (JPEG, PNG or BMP, at
        most 1 MB), then the multipart body is encoded as it would be sent and held to the
        gateway's 1 MB limit. Raises ``ValidationError`` naming the field where ``add``
        would. The size counts this client's app_id and store parameters, so check with the
        credentials and store the real run will use.
        """
        params, picture = await _prepare_add(
            group_id, pic, name, gender, age_range, customer_values
        )
        return self._transport.check(ep.FACE_ADD, params, self._shop, pic=picture)

    async def add(
        self,
        group_id: str,
        *,
        pic: PictureSource,
        name: str | None = None,
        gender: Gender | int | None = None,
        age_range: AgeRange | int | None = None,
        customer_values: Sequence[str | None] | None = None,
    ) -> str:
        """Upload a face picture into a group and return the new ``face_id``.

        ``pic`` is bytes, a path or a binary file object: a JPEG, PNG or BMP of at most 1 MB
        (files are read in a worker thread). Not retried once the request may have reached
        the server: an unknown outcome raises with ``outcome_unknown`` set, so a caller can
        look the face up instead of uploading it twice (the bulk layer does that).
        ``check_add`` runs the same checks without sending.
        """
        params, picture = await _prepare_add(
            group_id, pic, name, gender, age_range, customer_values
        )
        data = await self._call(ep.FACE_ADD, params, pic=picture)
        face_id = data.get("face_id") if isinstance(data, dict) else None
        if isinstance(face_id, int) and not isinstance(face_id, bool):
            face_id = str(face_id)
        if not isinstance(face_id, str) or not face_id:
            raise ProtocolError(
                "the reply carries no face_id", endpoint=ep.FACE_ADD.path, snippet=repr(data)[:200]
            )
        return face_id

    async def update(
        self,
        group_id: str,
        face_id: str,
        *,
        name: str | None = None,
        gender: Gender | int | None = None,
        age_range: AgeRange | int | None = None,
        customer_values: Sequence[str | None] | None = None,
    ) -> None:
        params = {
            "group_id": check.nonempty_str("group_id", group_id),
            "face_id": check.nonempty_str("face_id", face_id),
            **_attributes(name, gender, age_range, customer_values),
        }
        await self._call(ep.FACE_UPDATE, params)

    async def delete(self, group_id: str, face_ids: Sequence[str]) -> None:
        """Remove faces from a group. For thousands of ids see ``bulk.delete_faces``."""
        params = {
            "group_id": check.nonempty_str("group_id", group_id),
            "face_id_list": check.id_list("face_ids", face_ids),
        }
        await self._call(ep.FACE_DELETE, params)
