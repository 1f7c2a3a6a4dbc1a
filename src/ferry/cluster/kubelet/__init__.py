"""The node agent (ARCHITECTURE.md: ``ferry.cluster.kubelet``): what turns pods bound to a node into status.

Today one runtime, :mod:`ferry.cluster.kubelet.sim`: Node objects, leases and kubelet-exact pod status without
running processes, for tests, demos and scale benchmarks (``ferry cluster up --runtime sim``). The process
runtime of the next issue lands beside it and implements the same surface: ``register()``, the pod event
handlers ``on_pod_add``/``on_pod_update``/``on_pod_delete``, ``step()`` and ``run(stop)``.
"""

from ferry.cluster.kubelet.sim import Behaviour, SimConfig, SimRuntime, behaviour

__all__ = ["Behaviour", "SimConfig", "SimRuntime", "behaviour"]
