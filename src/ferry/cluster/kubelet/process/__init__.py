"""The process kubelet: real pods for ``ferry cluster up --runtime process`` (one node, ``ferry-node-1``).

Module map::

    kubelet     ProcessKubelet: handlers, node setup (runtime, images, network), leases, adoption, shutdown
    podworker   PodWorker: one task per pod; sandbox, images, init/app containers, restarts, termination
    containers  pod-spec container → runtime ContainerSpec; pull policy; lifecycle handlers
    envs        env / envFrom / valueFrom resolution, Service variables
    volumes     emptyDir, configMap, secret, downwardAPI, projected; /etc/hosts and resolv.conf
    probes      httpGet / tcpSocket / exec checks and the Prober loop with every timing field
    status      CtrState and the pod status (shaped as the sim's)
    node        machine capacity and the Node object
"""

from __future__ import annotations

from ferry.cluster.kubelet.process.kubelet import KubeletConfig, ProcessKubelet

__all__ = ["KubeletConfig", "ProcessKubelet"]
