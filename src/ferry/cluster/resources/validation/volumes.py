"""Pod volumes and the containers' volume mounts.

:func:`validate_volumes` is ``ValidateVolumes``: every volume has a unique DNS-1123 label name and
exactly one source; the sources pods commonly use (secret, configMap, persistentVolumeClaim,
hostPath, emptyDir, nfs, downwardAPI, projected, ephemeral, ...) have their required fields
checked, the others are only counted. It returns the volumes that passed, and
:func:`validate_mounts` resolves a container's ``volumeMounts`` against those (a mount of a volume
that failed validation is ``Not found``). The relative-path rules and file modes live here
because only volume sources and mounts use them.
"""

from __future__ import annotations

from typing import Any

from ferry.cluster.apiserver.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid_value,
    not_supported,
    required,
)
from ferry.cluster.resources.quantity import QuantityError, parse_quantity
from ferry.cluster.resources.validation import common as c
from ferry.cluster.resources.validation.env import (
    VOLUME_DOWNWARD,
    object_field_selector,
    resource_field_selector,
)
from ferry.cluster.resources.validation.jsonread import (
    Errs,
    child,
    dict_at,
    dicts,
    index,
    int_at,
    list_at,
    str_at,
)
from ferry.cluster.resources.validation.podcommon import name_errors

FILE_MODE_MSG = "must be a number between 0 and 0777 (octal), both inclusive"
# (JSON name, name used in the "more than 1 volume type" path: kube misspells two of them).
_SOURCE_NAMES = (
    "emptyDir hostPath gitRepo gcePersistentDisk awsElasticBlockStore secret nfs iscsi glusterfs flocker "
    "persistentVolumeClaim rbd cinder cephfs quobyte downwardAPI fc flexVolume configMap azureFile "
    "vsphereVolume photonPersistentDisk portworxVolume azureDisk storageos projected scaleIO csi ephemeral image"
)
_MISSPELLED = {"downwardAPI": "downwarAPI", "cephfs": "cephFS"}
_VOLUME_SOURCES = [(s, _MISSPELLED.get(s, s)) for s in _SOURCE_NAMES.split()]
_HOST_PATH_TYPE_NAMES = " BlockDevice CharDevice Directory DirectoryOrCreate File FileOrCreate Socket"
_HOST_PATH_TYPES = _HOST_PATH_TYPE_NAMES.split(" ")


def _path_no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.replace("\\", "/").split("/"):
        return [invalid_value(path, target, "must not contain '..'")]
    return []


def local_descending_path(target: str, path: str) -> list[FieldError]:
    errs = [invalid_value(path, target, "must be a relative path")] if target.startswith("/") else []
    return errs + _path_no_backsteps(target, path)


def local_non_reserved_path(target: str, path: str) -> list[FieldError]:
    errs = local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(invalid_value(path, target, "must not start with '..'"))
    return errs


def _file_mode(obj: Any, name: str, path: str, errs: Errs) -> None:
    mode = int_at(obj, name, path, errs)
    if mode is not None and not 0 <= mode <= 0o777:
        errs.append(invalid_value(child(path, name), mode, FILE_MODE_MSG))


def validate_mounts(
    container: dict[str, Any], volumes: dict[str, dict[str, Any]], path: str
) -> list[FieldError]:
    errs: Errs = []
    mpath = child(path, "volumeMounts")
    seen: set[str] = set()
    devices = {
        str(d.get("name")): d.get("devicePath")
        for d in dicts(container.get("volumeDevices"))
        if isinstance(d.get("name"), str)
    }
    for i, mount in enumerate(list_at(container, "volumeMounts", path, errs)):
        ipath = index(mpath, i)
        if not isinstance(mount, dict):
            errs.append(c.wrong_type(ipath, mount, "object"))
            continue
        name = str_at(mount, "name", ipath, errs)
        mount_path = str_at(mount, "mountPath", ipath, errs)
        if not name:
            errs.append(required(child(ipath, "name")))
        if name not in volumes:
            errs.append(FieldError("FieldValueNotFound", child(ipath, "name"), "", name, True))
        if not mount_path:
            errs.append(required(child(ipath, "mountPath")))
        if mount_path in seen:
            errs.append(invalid_value(child(ipath, "mountPath"), mount_path, "must be unique"))
        seen.add(mount_path)
        if name in devices:
            errs.append(invalid_value(child(ipath, "name"), name, "must not already exist in volumeDevices"))
        if mount_path in devices.values():
            detail = "must not already exist as a path in volumeDevices"
            errs.append(invalid_value(child(ipath, "mountPath"), mount_path, detail))
        sub_path = str_at(mount, "subPath", ipath, errs)
        if sub_path:
            errs.extend(local_descending_path(sub_path, child(mpath, "subPath")))
        sub_expr = str_at(mount, "subPathExpr", ipath, errs)
        if sub_expr:
            if sub_path:
                detail = "subPathExpr and subPath are mutually exclusive"
                errs.append(invalid_value(child(ipath, "subPathExpr"), sub_expr, detail))
            errs.extend(local_descending_path(sub_expr, child(mpath, "subPathExpr")))
        propagation = mount.get("mountPropagation")
        if propagation is not None:
            supported = ["Bidirectional", "HostToContainer", "None"]
            if propagation not in supported:
                errs.append(not_supported(child(mpath, "mountPropagation"), propagation, supported))
            privileged = dict_at(container, "securityContext", path, []).get("privileged") is True
            if propagation == "Bidirectional" and not privileged:
                detail = "Bidirectional mount propagation is available only to privileged containers"
                errs.append(forbidden(child(mpath, "mountPropagation"), detail))
    return errs


def _key_to_paths(source: dict[str, Any], path: str, errs: Errs) -> None:
    for i, item in enumerate(list_at(source, "items", path, errs)):
        ipath = index(child(path, "items"), i)
        item = item if isinstance(item, dict) else {}
        if not str_at(item, "key", ipath, errs):
            errs.append(required(child(ipath, "key")))
        item_path = str_at(item, "path", ipath, errs)
        if not item_path:
            errs.append(required(child(ipath, "path")))
        errs.extend(local_non_reserved_path(item_path, child(ipath, "path")))
        _file_mode(item, "mode", ipath, errs)


def _downward_files(source: dict[str, Any], path: str, errs: Errs) -> None:
    for item in list_at(source, "items", path, errs):
        item = item if isinstance(item, dict) else {}
        file_path = str_at(item, "path", path, errs)
        if not file_path:
            errs.append(required(child(path, "path")))
        errs.extend(local_non_reserved_path(file_path, child(path, "path")))
        if item.get("fieldRef") is not None:
            errs.extend(
                object_field_selector(
                    dict_at(item, "fieldRef", path, errs), VOLUME_DOWNWARD, child(path, "fieldRef")
                )
            )
            if item.get("resourceFieldRef") is not None:
                detail = "fieldRef and resourceFieldRef can not be specified simultaneously"
                errs.append(invalid_value(path, "resource", detail))
        elif item.get("resourceFieldRef") is not None:
            ref = dict_at(item, "resourceFieldRef", path, errs)
            errs.extend(resource_field_selector(ref, child(path, "resourceFieldRef"), volume=True))
        else:
            errs.append(required(path, "one of fieldRef and resourceFieldRef is required"))
        _file_mode(item, "mode", path, errs)


def _volume_source(kind: str, source: dict[str, Any], path: str, errs: Errs) -> None:
    """Required fields of the volume sources pods commonly use; others are only type-counted."""
    simple_required = {
        "secret": ["secretName"],
        "configMap": ["name"],
        "persistentVolumeClaim": ["claimName"],
        "csi": ["driver"],
        "nfs": ["server", "path"],
        "gitRepo": ["repository"],
        "iscsi": ["targetPortal", "iqn"],
        "rbd": ["monitors", "image"],
        "cephfs": ["monitors"],
        "azureFile": ["secretName", "shareName"],
        "azureDisk": ["diskName", "diskURI"],
    }
    for name in simple_required.get(kind, []):
        if not source.get(name):
            errs.append(required(child(path, name)))
    if kind in ("secret", "configMap", "downwardAPI", "projected"):
        _file_mode(source, "defaultMode", path, errs)
    if kind in ("secret", "configMap"):
        _key_to_paths(source, path, errs)
    elif kind == "hostPath":
        host_path = str_at(source, "path", path, errs)
        if not host_path:
            errs.append(required(child(path, "path")))
            return
        errs.extend(_path_no_backsteps(host_path, child(path, "path")))
        host_type = source.get("type")
        if host_type is not None and host_type not in _HOST_PATH_TYPES:
            errs.append(not_supported(child(path, "type"), host_type, _HOST_PATH_TYPES))
    elif kind == "emptyDir" and source.get("sizeLimit") is not None:
        try:
            if parse_quantity(source["sizeLimit"]).value < 0:
                detail = "SizeLimit field must be a valid resource quantity"
                errs.append(forbidden(child(path, "sizeLimit"), detail))
        except QuantityError as e:
            errs.append(invalid_value(child(path, "sizeLimit"), source["sizeLimit"], str(e)))
    elif kind == "nfs" and not str(source.get("path", "")).startswith("/"):
        errs.append(invalid_value(child(path, "path"), source.get("path", ""), "must be an absolute path"))
    elif kind == "downwardAPI":
        _downward_files(source, path, errs)
    elif kind == "projected":
        for i, src in enumerate(list_at(source, "sources", path, errs)):
            spath = index(child(path, "sources"), i)
            src = src if isinstance(src, dict) else {}
            present = [
                k
                for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                if src.get(k) is not None
            ]
            for k in present:
                body = dict_at(src, k, spath, errs)
                if k in ("secret", "configMap"):
                    if not body.get("name"):
                        errs.append(required(child(child(spath, k), "name")))
                    _key_to_paths(body, child(spath, k), errs)
                elif k == "downwardAPI":
                    _downward_files(body, child(spath, k), errs)
                elif k == "serviceAccountToken":
                    expiration = int_at(body, "expirationSeconds", child(spath, k), errs) or 0
                    epath = child(child(spath, k), "expirationSeconds")
                    if expiration < 600:
                        errs.append(
                            invalid_value(
                                epath, expiration, "may not specify a duration less than 10 minutes"
                            )
                        )
                    if expiration > 1 << 32:
                        errs.append(
                            invalid_value(
                                epath, expiration, "may not specify a duration larger than 2^32 seconds"
                            )
                        )
                    token_path = str_at(body, "path", child(spath, k), errs)
                    if not token_path:
                        errs.append(required(child(path, "path")))
                    else:
                        errs.extend(local_non_reserved_path(token_path, child(path, "path")))
            if len(present) > 1:
                errs.append(forbidden(spath, "may not specify more than 1 volume type per source"))
    elif kind == "ephemeral" and source.get("volumeClaimTemplate") is None:
        errs.append(required(child(path, "volumeClaimTemplate")))


def validate_volumes(volumes: list[Any], path: str) -> tuple[dict[str, dict[str, Any]], list[FieldError]]:
    """``ValidateVolumes``: names unique DNS labels, exactly one source; returns the valid ones."""
    errs: Errs = []
    valid: dict[str, dict[str, Any]] = {}
    for i, vol in enumerate(volumes):
        ipath = index(path, i)
        if not isinstance(vol, dict):
            errs.append(c.wrong_type(ipath, vol, "object"))
            continue
        verrs: Errs = []
        count = 0
        for kind, shown in _VOLUME_SOURCES:
            if vol.get(kind) is None:
                continue
            if count:
                verrs.append(forbidden(child(ipath, shown), "may not specify more than 1 volume type"))
                continue
            count += 1
            _volume_source(kind, dict_at(vol, kind, ipath, verrs), child(ipath, kind), verrs)
        if count == 0:
            verrs.append(required(ipath, "must specify a volume type"))
        name = str_at(vol, "name", ipath, verrs)
        if not name:
            verrs.append(required(child(ipath, "name")))
        else:
            verrs.extend(name_errors(name, child(ipath, "name"), c.is_dns1123_label))
        if name in valid:
            verrs.append(duplicate(child(ipath, "name"), name))
        if verrs:
            errs.extend(verrs)
        else:
            valid[name] = vol
    return valid, errs
