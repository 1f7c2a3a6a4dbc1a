"""Controllers that run inside ``ferry cluster up``.

Today: the garbage collector and the namespace controller, which the API server's deletion semantics
need to finish what they start (``foregroundDeletion``/``orphan`` finalizers, dangling dependents,
namespace contents). The workload controllers and their informer runtime arrive with the controllers
issue; these two then move onto that runtime.
"""
