"""``ferry demo``: stories 1, 3 and 4 told on the embedded cluster with real pods (docs/demo.md).

Modules: ``shell`` (numbered steps, commands printed with their output), ``workspace`` (the data dir, the app
and config repos, the cluster), ``observe`` (reconciler status, Services, ReplicaSets through kubectl),
``traffic`` (the load generator), ``story`` (stories 1 and 4: demo-api through sit → qa → prod, a rollout
under traffic, a rollback), ``isolation`` (story 3: a change to order-service rolls only order-service).
The demo drives ferry through its command line only, and never imports ``ferry.cluster``.
"""
