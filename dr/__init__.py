"""Disaster-recovery runbook for the Aurora global database (R-DR-1, R-DR-5) and the RTO/RPO
budget (R-DR-2).

``python -m dr status|switchover|failover|executions|watch|approve|config|budget ...``. The
runbook moves the writer by executing the ARC Region switch plan the global stack declares
(``components/region_switch.py``), after its own read-only pre-checks and followed by its own
verification. Modules: ``aws`` (the only place that talks to AWS), ``checks`` (pre-checks),
``runbook`` (plan executions, watching, post-checks), ``stack_config`` (the ``primaryRegion``
change that keeps ``pulumi up`` from undoing a switchover), ``budget`` (pure RTO/RPO and plan
arithmetic), ``probe`` (the writer probe), ``topology`` (the stacks' outputs), ``cli``.
Importing the package is cheap: boto3 is imported only when a client is first made.
"""
