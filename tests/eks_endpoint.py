"""A local stand-in for the three EKS operations moto does not have, over real HTTP.

moto has no EKS Pod Identity API. The operator calls ``eks:ListPodIdentityAssociations``,
``eks:DescribePodIdentityAssociation`` and ``eks:DescribeCluster`` through boto3 unchanged; only its
endpoint is this server (``AWS_ENDPOINT_URL_EKS``). It speaks EKS's REST-JSON wire format: the
paths and JSON shapes of the EKS API reference, errors as ``x-amzn-ErrorType`` with a ``message``.
Everything else stays on moto. The tests change its state directly (it runs in their process).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_CLUSTER = re.compile(r"^/clusters/(?P<name>[^/]+)$")
_LIST = re.compile(r"^/clusters/(?P<name>[^/]+)/pod-identity-associations$")
_ONE = re.compile(r"^/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<id>[^/]+)$")
PAGE = 2  # small, so that the operator's paging is exercised


@dataclass
class EksState:
    account: str
    region: str = "us-east-1"
    clusters: dict[str, str] = field(default_factory=dict)  # name -> OIDC issuer
    associations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> association
    calls: list[str] = field(default_factory=list)  # "Operation cluster", for the tests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def cluster_arn(self, name: str) -> str:
        return f"arn:aws:eks:{self.region}:{self.account}:cluster/{name}"

    def associate(
        self,
        cluster: str,
        namespace: str,
        service_account: str,
        role_arn: str,
        *,
        target_role_arn: str | None = None,
        external_id: str | None = None,
        disable_session_tags: bool = False,
        policy: dict[str, Any] | None = None,
    ) -> str:
        with self.lock:
            aid = f"a-{len(self.associations) + 1:017d}"
            body: dict[str, Any] = {
                "clusterName": cluster,
                "namespace": namespace,
                "serviceAccount": service_account,
                "roleArn": role_arn,
                "associationArn": f"arn:aws:eks:{self.region}:{self.account}:podidentityassociation/{cluster}/{aid}",
                "associationId": aid,
                "disableSessionTags": disable_session_tags,
            }
            if target_role_arn:
                body["targetRoleArn"] = target_role_arn
                body["externalId"] = external_id or f"ext-{aid}"
            if policy is not None:
                body["policy"] = json.dumps(policy)
            self.associations[aid] = body
            return aid


class _Handler(BaseHTTPRequestHandler):
    state: EksState  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read calls instead
        return

    def _send(self, status: int, body: dict[str, Any], error: str | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        st = self.state
        if m := _CLUSTER.match(url.path):
            name = m["name"]
            st.calls.append(f"DescribeCluster {name}")
            if name not in st.clusters:
                self._send(
                    404, {"message": f"No cluster found for name: {name}."}, "ResourceNotFoundException"
                )
                return
            cluster = {
                "name": name,
                "arn": st.cluster_arn(name),
                "status": "ACTIVE",
                "identity": {"oidc": {"issuer": st.clusters[name]}},
            }
            self._send(200, {"cluster": cluster})
        elif m := _LIST.match(url.path):
            name = m["name"]
            st.calls.append(f"ListPodIdentityAssociations {name}")
            if name not in st.clusters:
                self._send(
                    404, {"message": f"No cluster found for name: {name}."}, "ResourceNotFoundException"
                )
                return
            with st.lock:
                found = [
                    a
                    for a in st.associations.values()
                    if a["clusterName"] == name
                    and a["namespace"] == query.get("namespace", a["namespace"])
                    and a["serviceAccount"] == query.get("serviceAccount", a["serviceAccount"])
                ]
            start = int(query.get("nextToken") or 0)
            page = found[start : start + PAGE]
            keys = ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId")
            body: dict[str, Any] = {"associations": [{k: a[k] for k in keys} for a in page]}
            if start + PAGE < len(found):
                body["nextToken"] = str(start + PAGE)
            self._send(200, body)
        elif m := _ONE.match(url.path):
            st.calls.append(f"DescribePodIdentityAssociation {m['name']}")
            found_one = st.associations.get(m["id"])
            if found_one is None or found_one["clusterName"] != m["name"]:
                self._send(404, {"message": f"association {m['id']} not found"}, "ResourceNotFoundException")
                return
            self._send(200, {"association": found_one})
        else:
            self._send(400, {"message": f"not served here: GET {url.path}"}, "InvalidRequestException")


class EksEndpoint:
    """Start with ``with EksEndpoint(account) as eks:``; ``eks.url`` for AWS_ENDPOINT_URL_EKS."""

    def __init__(self, account: str) -> None:
        self.state = EksState(account)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="eks-endpoint", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {"AWS_ENDPOINT_URL_EKS": self.url}

    def __enter__(self) -> EksEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
