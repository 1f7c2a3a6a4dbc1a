"""The gRPC probe's pieces: protobuf encode/decode (checked against the real protobuf classes), framing, texts."""

from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2

from ferry.cluster.kubelet.process import grpcprobe as g


@pytest.mark.parametrize("service", ["", "a", "grpc.health.v1.Health", "x" * 200, "ünïcode"])
def test_request_encoding_matches_protobuf(service: str) -> None:
    assert g.encode_request(service) == health_pb2.HealthCheckRequest(service=service).SerializeToString()


def test_request_encoding_bytes() -> None:
    assert g.encode_request("") == b""
    assert g.encode_request("ab") == b"\x0a\x02ab"
    assert g.encode_request("x" * 200)[:3] == b"\x0a\xc8\x01"  # a two-byte varint length


@pytest.mark.parametrize("status", [0, 1, 2, 3])
def test_response_decoding_matches_protobuf(status: int) -> None:
    data = health_pb2.HealthCheckResponse(status=status).SerializeToString()
    assert g.decode_status(data) == status


def test_response_decoding_skips_unknown_fields_and_last_wins() -> None:
    # field 2 string "zz", field 3 fixed64, field 4 fixed32, field 1 = 2, field 5 varint 300, field 1 = 1
    data = (
        b"\x12\x02zz" + b"\x19" + bytes(8) + b"\x25" + bytes(4) + b"\x08\x02" + b"\x28\xac\x02" + b"\x08\x01"
    )
    assert g.decode_status(data) == 1
    assert g.decode_status(b"") == 0
    negative = health_pb2.HealthCheckResponse(status=-1).SerializeToString()
    assert g.decode_status(negative) == -1


@pytest.mark.parametrize("data", [b"\x08", b"\x12\x05ab", b"\x0b", b"\x08" + b"\xff" * 11])
def test_response_decoding_rejects_broken_messages(data: bytes) -> None:
    with pytest.raises(ValueError):
        g.decode_status(data)


def test_framing() -> None:
    assert g.frame_message(b"\x0a\x01a") == b"\x00\x00\x00\x00\x03\x0a\x01a"
    assert g.unframe_message(b"\x00\x00\x00\x00\x02\x08\x01") == b"\x08\x01"
    assert g.unframe_message(b"\x00\x00\x00\x00\x00") == b""
    for body, text in [
        (b"", "received no response message"),
        (b"\x00\x00\x00", "truncated message header"),
        (b"\x01\x00\x00\x00\x02\x08\x01", "compressed flag"),
        (b"\x00\x00\x00\x00\x03\x08\x01", "truncated message"),
        (b"\x00\x00\x00\x00\x02\x08\x01\x00", "more than one response message"),
    ]:
        with pytest.raises(ValueError, match=text):
            g.unframe_message(body)


def test_go_duration_and_grpc_timeout() -> None:
    assert [g.go_duration(s) for s in (0, 1, 10, 60, 90, 3600, 3661)] == [
        "0s",
        "1s",
        "10s",
        "1m0s",
        "1m30s",
        "1h0m0s",
        "1h1m1s",
    ]
    assert g._grpc_timeout(1) == "1000000u"
    assert g._grpc_timeout(300) == "300000m"


def test_kube_texts() -> None:
    assert g.unhealthy(2) == 'service unhealthy (responded with "NOT_SERVING")'
    assert g.unhealthy(0) == 'service unhealthy (responded with "UNKNOWN")'
    assert g.unhealthy(3) == 'service unhealthy (responded with "SERVICE_UNKNOWN")'
    assert g.unhealthy(7) == 'service unhealthy (responded with "7")'
    assert g.rpc_error(5, "") == "error: health rpc probe failed: rpc error: code = NotFound desc = "
    assert (
        g.rpc_error(14, "down") == "error: health rpc probe failed: rpc error: code = Unavailable desc = down"
    )
    assert g.rpc_error(12, "Method not found!") == (
        "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): Method not found!"
    )
    assert g.USER_AGENT.startswith("kube-probe/1.32 ")


def _call(**kw: object) -> g._Call:
    call = g._Call(ready=True, ended=True)
    for k, v in kw.items():
        setattr(call, k, v)
    return call


def test_result_rules() -> None:
    ok_body = bytearray(g.frame_message(b"\x08\x01"))
    headers = {":status": "200", "content-type": "application/grpc"}
    assert g._result(_call(headers=headers, trailers={"grpc-status": "0"}, body=ok_body), 1) == (True, "")
    bad = g._result(_call(headers=headers, trailers={"grpc-status": "0"}, body=bytearray()), 1)
    assert bad == (
        False,
        g.rpc_error(13, "grpc: failed to unmarshal the received message: received no response message"),
    )
    # trailers-only, percent-encoded grpc-message
    only = {**headers, "grpc-status": "5", "grpc-message": "unknown%20service"}
    assert g._result(_call(headers=only), 1)[1].endswith("code = NotFound desc = unknown service")
    late = {**headers, "grpc-status": "4"}
    assert g._result(_call(headers=late), 3) == (False, "timeout: health rpc did not complete within 3s")
    assert g._result(_call(headers={":status": "404"}), 1)[1] == g.rpc_error(
        12, "unexpected HTTP status code received from server: 404 (Not Found)"
    )
    reset = g._result(_call(ended=False, error=(14, "stream terminated by RST_STREAM with error code: 7")), 1)
    assert reset[1].endswith("code = Unavailable desc = stream terminated by RST_STREAM with error code: 7")


def test_server_preface_checks() -> None:
    settings = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00"
    assert g._check_preface(settings[:5]) == settings[:5]  # not enough to tell yet
    assert g._check_preface(settings) == settings
    with pytest.raises(g._ConnectError, match="frame too large"):
        g._check_preface(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(g._ConnectError, match="not a settings frame"):
        g._check_preface(b"\x00\x00\x08\x06\x00\x00\x00\x00\x00")  # a PING first
