"""Disaster-recovery runbook for the Aurora global database (R-DR-1) and the RTO/RPO budget
(R-DR-2).

``python -m dr status|switchover|failover|budget ...``. Modules: ``aws`` (the only place that
talks to AWS), ``checks`` (pre-checks), ``runbook`` (ordered steps and post-checks),
``stack_config`` (the ``primaryRegion`` change that keeps ``pulumi up`` from undoing a
switchover), ``budget`` (pure RTO/RPO arithmetic), ``probe`` (the writer probe), ``cli``.
Importing the package is cheap: boto3 is imported only when a client is first made.
"""
