"""What every handler needs, gathered once per server: store, catalog, storage, auth, OpenAPI."""

from __future__ import annotations

from dataclasses import dataclass, field

from ferry.cluster.apiserver.admission import Admission
from ferry.cluster.apiserver.auth import AllowAuthenticated, Authorizer, TokenAuthenticator
from ferry.cluster.apiserver.openapi import OpenAPI
from ferry.cluster.apiserver.storage import Storage
from ferry.cluster.resources.catalog import Catalog
from ferry.cluster.store import Store


@dataclass
class ServerSettings:
    """Tunables of the API server (units in the names)."""

    max_body_bytes: int = 3 * 1024 * 1024
    watch_bookmark_interval_seconds: float = 60.0
    # kube-apiserver's --min-request-timeout default: watches without timeoutSeconds end after 30-60 min.
    min_watch_timeout_seconds: float = 1800.0
    service_cidr: str = "10.96.0.0/12"
    server_address: str = "127.0.0.1:6443"
    # Where in-process components (controllers, the kubelet) reach this server, and its CA certificate.
    server_url: str = ""
    ca_file: str = ""


@dataclass
class ApiContext:
    store: Store
    catalog: Catalog
    authenticator: TokenAuthenticator
    settings: ServerSettings = field(default_factory=ServerSettings)
    authorizer: Authorizer = field(default_factory=AllowAuthenticated)
    storage: Storage = field(init=False)
    openapi: OpenAPI = field(init=False)

    def __post_init__(self) -> None:
        self.storage = Storage(
            self.store, admission=Admission(self.store, service_cidr=self.settings.service_cidr)
        )
        self.openapi = OpenAPI(self.catalog)
