"""The embedded Kubernetes-compatible cluster: API server, store, and (later) controllers and kubelet.

Nothing outside this package imports it except the CLI that starts it (an import-linter contract):
the rest of ferry talks to any cluster, this one included, only through the Kubernetes HTTP API.
"""
