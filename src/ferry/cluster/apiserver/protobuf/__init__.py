"""Protobuf request-body decoding for the API server (``application/vnd.kubernetes.protobuf``).

Layers, bottom up: ``wire`` (proto2 wire format, Kubernetes-agnostic) -> ``messages`` (field tables
transcribed from k8s.io/api v0.32, with the Go pointer/omitempty facts) -> ``decode`` (tables + wire
-> the JSON object kube-apiserver would print). Only decoding exists: ferry always answers JSON.

Exception tree::

    ProtobufError (Exception)   malformed body or undecodable kind -> 400 BadRequest with its message
"""

from ferry.cluster.apiserver.protobuf.decode import CONTENT_TYPE, MAGIC, ProtobufError, decode
from ferry.cluster.apiserver.protobuf.messages import KINDS

__all__ = ["CONTENT_TYPE", "KINDS", "MAGIC", "ProtobufError", "decode"]
