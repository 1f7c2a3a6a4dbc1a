"""Helm v4's typed writes: the release-storage Secret and the DeleteOptions of a typed delete.

Fixtures were captured from Helm v4.2.3 (helm-python-sdk 0.2.2) installing and uninstalling a one-
ConfigMap chart as release ``rel`` (``labels={"team": "web"}``) against a logging loopback server.
``data.release`` is base64(gzip(JSON)) *as bytes*, so its JSON form is base64 of that base64 text.
"""

from __future__ import annotations

import base64
import gzip
import json

from ferry.cluster.apiserver.protobuf import decode
from tests.unit.test_protobuf_encoder import body

# POST /api/v1/namespaces/default/secrets (install, status pending-install), unedited.
RELEASE_SECRET = bytes.fromhex(
    "".join(
        "6b3873000a0c0a027631120653656372657412d6060a94010a1973682e68656c6d2e72656c656173652e76312e72656c"
        "2e763112001a0022002a003200380042005a170a09637265617465644174120a313739353734363034345a0b0a046e61"
        "6d65120372656c5a0d0a056f776e6572120468656c6d5a190a06737461747573120f70656e64696e672d696e7374616c"
        "6c5a0b0a047465616d12037765625a0c0a0776657273696f6e12013112a8050a0772656c65617365129c054834734941"
        "414141414141432f355353333237614d425447587955367530326f45357043664e6c755241684e307a6f474a6374556d"
        "64684a584f7a6a4b48626f574d573754776b64624f72464e4f6c6332456632642f373876686441706756516149554348"
        "7953574275674c6c4c4b313770474c52706d44344541684974464e45495a424e466d5369456145586c2b50346e673847"
        "5366587955304750696a326e782b34734555724779634e416f55355369655a38695261783554794f7553696657594838"
        "4d4536356a6f4c4642714258474956764c36426f7739467a5672584e36794659357735317039664a2b4a43472f42684c"
        "317037716b4647345969414436795271334e79482f5536796851376f4e677035594d54756c484d4351763032316e736e"
        "4c7771394f6a41644c2b73557a3359504e77324b373036464a48616235394d785a382b4c46696b757579397154354853"
        "5a64706863763137506c4f6834716e7339336d3462372b564a6c716e736231647633315a703765712b3136366a595257"
        "5754706a4779575a6a472f7538564372785250565a66394e42564c5633616254686667677a62637961476e4e79736578"
        "364e784d6f314a6c457a474752792f2b37426e717573484f55316d6931706f39766674496b634943594d686c6f545149"
        "58704f70565158685838566a306b5354386b6b473967594c475856412f6b424e447a366f426e4b556c67484649496779"
        "504764393856306253476f31364f366572506948432b6b714c63506339784a354e53374734512f73696248333968706a"
        "7037586f7a70704259584f385a797657694763784970367456444b354a6a6a6e3734492f51477962566878736b334a4f"
        "7555476e7a5471384b6946713033766147735a484838464141442f2f396b506f414177417741411a1268656c6d2e7368"
        "2f72656c656173652e76311a002200"
    )
)

# DELETE /api/v1/namespaces/default/secrets/sh.helm.release.v1.rel.v1 (uninstall), unedited.
TYPED_DELETE = bytes.fromhex("6b3873000a130a027631120d44656c6574654f7074696f6e7312001a002200")


def test_release_secret_metadata_labels_and_type() -> None:
    obj = decode(RELEASE_SECRET)
    assert {k: v for k, v in obj.items() if k != "data"} == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "sh.helm.release.v1.rel.v1",
            "labels": {
                "createdAt": "1795746044",
                "name": "rel",
                "owner": "helm",
                "status": "pending-install",
                "team": "web",
                "version": "1",
            },
        },
        "type": "helm.sh/release.v1",
    }


def test_release_secret_data_is_base64_of_the_bytes_helm_sent() -> None:
    release = decode(RELEASE_SECRET)["data"]["release"]
    helm_bytes = base64.b64decode(release, validate=True)  # what Helm put in the proto bytes field
    assert helm_bytes.startswith(b"H4sI")  # Helm's own base64 of a gzip stream
    record = json.loads(gzip.decompress(base64.b64decode(helm_bytes)))
    assert (record["name"], record["version"], record["info"]["status"]) == ("rel", 1, "pending-install")


def test_secret_data_round_trips_arbitrary_bytes_as_base64() -> None:
    payload = bytes(range(256))
    raw = [(1, [(1, "s")]), (2, [(1, "bin"), (2, payload)]), (2, [(1, "empty"), (2, b"")]), (3, "Opaque")]
    obj = decode(body("v1", "Secret", raw))
    assert obj["data"] == {"bin": base64.b64encode(payload).decode(), "empty": ""}
    assert obj["type"] == "Opaque"


def test_configmap_binary_data_is_base64_and_data_stays_text() -> None:
    raw = [(2, [(1, "t"), (2, "plain")]), (3, [(1, "b"), (2, b"\x00\xff")]), (4, True)]
    obj = decode(body("v1", "ConfigMap", raw))
    assert obj == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "data": {"t": "plain"},
        "binaryData": {"b": "AP8="},
        "immutable": True,
    }


def test_typed_delete_from_helm_has_an_empty_raw_and_decodes_to_bare_delete_options() -> None:
    assert decode(TYPED_DELETE) == {"apiVersion": "v1", "kind": "DeleteOptions"}


def test_delete_options_with_propagation_policy_and_every_pointer_field() -> None:
    # Go writes only the set pointers; gracePeriodSeconds=0 is a meaningful "delete now".
    raw = [(1, 0), (2, [(1, "uid-1"), (2, "42")]), (3, False), (4, "Background"), (5, "All")]
    assert decode(body("v1", "DeleteOptions", raw)) == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
        "orphanDependents": False,
        "propagationPolicy": "Background",
        "dryRun": ["All"],
    }


def test_delete_options_are_accepted_under_any_group_version_a_typed_client_uses() -> None:
    for api_version in ("apps/v1", "batch/v1", "meta.k8s.io/v1"):
        obj = decode(body(api_version, "DeleteOptions", [(4, "Foreground")]))
        assert obj == {"apiVersion": api_version, "kind": "DeleteOptions", "propagationPolicy": "Foreground"}
