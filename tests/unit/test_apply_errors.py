"""Kubernetes Status → the apply error tree, each one line naming the object."""

from __future__ import annotations

import ferry.delivery.apply as public
from ferry.delivery.apply.errors import (
    ApiRejectedError,
    ConflictError,
    ForbiddenError,
    InvalidObjectError,
    rejected,
)
from ferry.delivery.apply.objects import ObjectRef

REF = ObjectRef("apps", "v1", "Deployment", "sit", "web")


def test_422_names_the_object_and_every_cause() -> None:
    status = {
        "code": 422,
        "reason": "Invalid",
        "message": 'Deployment.apps "web" is invalid: ...',
        "details": {
            "causes": [
                {
                    "reason": "FieldValueInvalid",
                    "field": "spec.replicas",
                    "message": "Invalid value: -1: must be greater than or equal to 0",
                },
                {"reason": "FieldValueRequired", "field": "spec.selector", "message": "Required value"},
            ]
        },
    }
    err = rejected(status, ref=REF, verb="apply")
    assert isinstance(err, InvalidObjectError)
    assert str(err) == (
        "Deployment sit/web: invalid (apply): spec.replicas: Invalid value: -1: must be greater than or equal to 0; "
        "spec.selector: Required value"
    )
    assert [c.field for c in err.causes] == ["spec.replicas", "spec.selector"]


def test_403_409_and_others() -> None:
    forbidden = rejected({"code": 403, "reason": "Forbidden", "message": "no\nway"}, ref=REF, verb="delete")
    assert isinstance(forbidden, ForbiddenError)
    assert str(forbidden) == "Deployment sit/web: forbidden (delete): no way"
    assert isinstance(rejected({"code": 409, "reason": "Conflict"}, ref=REF, verb="apply"), ConflictError)
    other = rejected({"code": 500, "reason": "InternalError", "message": "disk"}, ref=None, verb="list")
    assert type(other) is ApiRejectedError
    assert str(other) == "list failed (500 InternalError): disk"


def test_public_api_is_unique_and_importable() -> None:
    assert len(set(public.__all__)) == len(public.__all__)
    for name in public.__all__:
        assert getattr(public, name) is not None
