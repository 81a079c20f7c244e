"""Command line of the runbook: ``python -m dr {status,switchover,failover,executions,watch,
approve,config,budget}``.

``switchover`` and ``failover`` run an ARC Region switch plan execution (graceful or
ungraceful) after read-only pre-checks, watch it, verify the result themselves and print (or
apply) the ``primaryRegion`` change; ``executions`` lists a plan's executions (ARC keeps them
for audit), ``watch`` re-attaches to one, ``approve`` approves (or declines) its approval step.

Exit codes: 0 done (or dry run passed), 1 aborted before any change, 2 usage error,
3 the change was requested but is not verified (or the config edit needs a human),
4 not confirmed. Everything the commands touch (AWS, probe, clock, input, output) can be
injected through ``main``'s keyword arguments; that is how the tests drive it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from contract import region_switch
from contract.outputs import (
    DB_GLOBAL_CLUSTER_ID,
    REGION_SWITCH_PLANS,
    REGIONAL_API_HEALTH_CHECK_ID,
    REGIONAL_API_URL,
)
from dr import budget as budget_module
from dr.aws import Aws, Execution
from dr.probe import HttpHealthProbe, Probe
from dr.runbook import (
    ABORTED,
    OK,
    UNVERIFIED,
    Outcome,
    Runbook,
    report_plans,
    report_status,
    utcnow,
)
from dr.stack_config import (
    ConfigEditError,
    Project,
    deploy_order,
    instructions,
    plan_config_change,
    read_project,
)
from dr.topology import Topology, load_topology

REPO_ROOT = Path(__file__).resolve().parents[1]
USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dr",
        description="Disaster-recovery runbook for the Aurora global database (docs/dr.md).",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPO_ROOT,
        help="directory holding Pulumi.yaml and the stack files (default: this repository)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def topology_flags(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--outputs",
            type=Path,
            action="append",
            default=[],
            metavar="FILE",
            help="`pulumi stack output --json -s <stack>` saved to a file (repeat for the "
            "global stack and each regional stack)",
        )
        sub.add_argument(
            "--global-cluster",
            metavar="ID",
            help=f"Aurora global cluster identifier (overrides {DB_GLOBAL_CLUSTER_ID})",
        )
        sub.add_argument(
            "--health-check",
            action="append",
            default=[],
            metavar="REGION=ID",
            help=f"Route 53 health check id of a region's API (overrides "
            f"{REGIONAL_API_HEALTH_CHECK_ID})",
        )
        sub.add_argument(
            "--rpo", type=float, default=30.0, help="RPO target in seconds (default 30)"
        )

    status = commands.add_parser("status", help="roles, lag and health per region")
    topology_flags(status)

    for name, text in (
        ("switchover", "planned, no data loss: the Region switch plan, graceful (switchover)"),
        ("failover", "unplanned, region lost: the Region switch plan, ungraceful (failover)"),
    ):
        sub = commands.add_parser(name, help=text)
        topology_flags(sub)
        sub.add_argument("--to", required=True, metavar="REGION", help="the new writer region")
        sub.add_argument("--dry-run", action="store_true", help="pre-checks and plan only")
        sub.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        sub.add_argument(
            "--apply-config",
            action="store_true",
            help="after success, write the new primaryRegion into Pulumi.yaml",
        )
        sub.add_argument(
            "--health-url",
            action="append",
            default=[],
            metavar="REGION=URL",
            help="a region's GET /health URL, used to prove the new writer accepts writes "
            f"(overrides the one derived from {REGIONAL_API_URL})",
        )
        sub.add_argument("--environment", default="prod", help="stack environment (prod)")
        sub.add_argument("--timeout", type=float, default=900.0, help="per post-check, s")
        sub.add_argument("--poll", type=float, default=10.0, help="poll interval, s")
        sub.add_argument(
            "--approve",
            action="store_true",
            help="approve the plan's approval step yourself (your credentials must be the "
            "plan's approval role); otherwise the tool waits for someone who is",
        )
        if name == "failover":
            sub.add_argument(
                "--allow-data-loss",
                action="store_true",
                help="proceed although checks needing the lost region failed or lag > RPO",
            )

    executions = commands.add_parser(
        "executions", help="the Region switch plans' executions (ARC keeps them for audit)"
    )
    topology_flags(executions)
    watch = commands.add_parser("watch", help="follow one plan execution to its end")
    topology_flags(watch)
    watch.add_argument("execution", metavar="EXECUTION_ID")
    watch.add_argument("--approve", action="store_true", help="approve its approval step")
    watch.add_argument("--poll", type=float, default=10.0, help="poll interval, s")
    watch.add_argument("--timeout", type=float, default=3600.0, help="give up after, s")
    approve = commands.add_parser("approve", help="approve (or decline) an approval step")
    topology_flags(approve)
    approve.add_argument("execution", metavar="EXECUTION_ID")
    approve.add_argument("--step", default=region_switch.STEP_APPROVE, help="the step's name")
    approve.add_argument("--decline", action="store_true", help="decline: ARC cancels it")

    config = commands.add_parser(
        "config", help="print (or --apply) the primaryRegion change and the deploy order"
    )
    config.add_argument("--new-primary", required=True, metavar="REGION")
    config.add_argument("--apply", action="store_true")
    config.add_argument("--environment", default="prod")

    budget = commands.add_parser(
        "budget", help="worst-case RTO/RPO from the numbers given, and the plan's objectives"
    )
    # Defaults are what the prod stacks configure (docs/dr.md §1; the whole-stack test reads
    # the same numbers from the synthesized stacks).
    budget.add_argument("--interval", type=float, default=10, help="health check interval s")
    budget.add_argument("--threshold", type=int, default=2, help="health check failures")
    budget.add_argument("--ttl", type=float, default=10, help="DNS TTL s (alias: 60)")
    budget.add_argument("--lag-alarm", type=float, default=30, help="lag alarm threshold s")
    budget.add_argument("--global-db-rpo", type=float, default=30, help="rds.global_db_rpo s")
    budget.add_argument("--cf-attempts", type=int, default=1, help="API origin attempts")
    budget.add_argument("--cf-timeout", type=float, default=5, help="API origin timeout s")
    return parser


def _confirm_interactively(
    target: str, read: Callable[[str], str], out: Callable[[str], None]
) -> Callable[[str], bool]:
    def confirm(prompt: str) -> bool:
        out(prompt)
        try:
            answer = read(f"type the target region ({target}) to proceed: ")
        except EOFError:
            return False
        return answer.strip() == target

    return confirm


def _config_section(
    project: Project,
    new_primary: str,
    environment: str,
    *,
    apply: bool,
    out: Callable[[str], None],
) -> int:
    out(f"--- stack configuration: primaryRegion → {new_primary}")
    try:
        changes = plan_config_change(project, new_primary)
    except ConfigEditError as exc:
        out(f"CONFIG cannot compute the change ({exc}); set primaryRegion by hand")
        return UNVERIFIED
    if not changes:
        out(f"CONFIG already primaryRegion {new_primary} in every stack file: nothing to change")
    else:
        for change in changes:
            out(change.diff(project.directory).rstrip("\n"))
        out(instructions(project, changes, new_primary))
        if apply:
            for change in changes:
                change.apply()
                out(f"CONFIG applied to {change.path.name}; commit it")
    out("--- then deploy, in this order (global → new primary → new secondary):")
    for number, command in enumerate(deploy_order(project, new_primary, environment), 1):
        out(f"  {number}. {command}")
    return OK


def main(
    argv: Sequence[str] | None = None,
    *,
    aws: Aws | None = None,
    probe: Probe | None = None,
    out: Callable[[str], None] = print,
    read: Callable[[str], str] = input,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = utcnow,
) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    if args.command == "budget":
        result = budget_module.compute_budget(
            health_check_interval_s=args.interval,
            health_check_failure_threshold=args.threshold,
            dns_ttl_s=args.ttl,
            lag_alarm_threshold_s=args.lag_alarm,
            global_db_rpo_s=args.global_db_rpo,
            cloudfront_connection_attempts=args.cf_attempts,
            cloudfront_connection_timeout_s=args.cf_timeout,
        )
        plan = budget_module.plan_budget(
            region_switch.workflows(("region-a", "region-b"), approval=True),
            dns_ttl_s=args.ttl,
            cloudfront_connection_attempts=args.cf_attempts,
            cloudfront_connection_timeout_s=args.cf_timeout,
        )
        out(result.render())
        out(plan.render())
        return OK if result.ok and not plan.violations else ABORTED

    try:
        project = read_project(args.project_dir)
    except ConfigEditError as exc:
        out(f"error: {exc}")
        return USAGE_ERROR

    if args.command == "config":
        return _config_section(
            project, args.new_primary, args.environment, apply=args.apply, out=out
        )

    try:
        topology: Topology = load_topology(
            args.outputs,
            global_cluster_id=args.global_cluster,
            health_checks=args.health_check,
            health_urls=getattr(args, "health_url", []),
        )
    except ValueError as exc:
        out(f"error: {exc}")
        return USAGE_ERROR
    if not topology.global_cluster_id:
        out("error: no global cluster: pass --global-cluster ID or --outputs <global>.json")
        return USAGE_ERROR
    aws = aws or Aws()

    if args.command == "status":
        code = report_status(
            aws,
            global_cluster_id=topology.global_cluster_id,
            regions=list(project.regions),
            health_checks=topology.health_checks,
            configured_primary=project.primary_region,
            rpo_s=args.rpo,
            out=out,
            now=now,
        )
        plans_code = report_plans(aws, topology.plans, out=out)
        return max(code, plans_code)

    if args.command in ("switchover", "failover") and args.to not in project.regions:
        out(f"error: --to {args.to} is not a serving region ({', '.join(project.regions)})")
        return USAGE_ERROR
    if not topology.plans:
        out(
            f"error: no Region switch plan: pass --outputs <global>.json (its "
            f"{REGION_SWITCH_PLANS} output)"
        )
        return USAGE_ERROR

    if args.command == "executions":
        return _list_executions(aws, topology, out)

    if args.command in ("watch", "approve"):
        found = _find_execution(aws, topology, args.execution)
        if found is None:
            out(f"error: no execution {args.execution} in any plan ({_plan_names(topology)})")
            return USAGE_ERROR
        plan_arn, execution = found
        if args.command == "approve":
            aws.approve_step(
                plan_arn,
                execution.execution_id,
                args.step,
                approve=not args.decline,
                region=execution.region,
            )
            verb = "declined" if args.decline else "approved"
            out(f"{verb} step {args.step} of execution {execution.execution_id}")
            return OK
        watcher = Runbook(
            aws,
            global_cluster_id=topology.global_cluster_id,
            plans=topology.plans,
            out=out,
            clock=clock,
            sleep=sleep,
            now=now,
            poll_interval_s=args.poll,
            timeout_s=args.timeout,
        )
        final = watcher.watch(
            plan_arn, execution.execution_id, region=execution.region, approve=args.approve
        )
        if final is None or not final.succeeded:
            return UNVERIFIED
        out("run `python -m dr status` to verify the writer, then apply the config change")
        return OK

    if probe is None and topology.health_urls:
        probe = HttpHealthProbe(topology.health_urls)
    runbook = Runbook(
        aws,
        global_cluster_id=topology.global_cluster_id,
        plans=topology.plans,
        rpo_s=args.rpo,
        probe=probe,
        out=out,
        clock=clock,
        sleep=sleep,
        now=now,
        poll_interval_s=args.poll,
        timeout_s=args.timeout,
    )
    confirm = (lambda prompt: True) if args.yes else _confirm_interactively(args.to, read, out)
    outcome: Outcome = runbook.run(
        args.command,
        args.to,
        dry_run=args.dry_run,
        allow_data_loss=getattr(args, "allow_data_loss", False),
        approve=args.approve,
        confirm=confirm,
    )
    if outcome.code != OK or outcome.new_writer_region is None:
        return outcome.code
    if args.dry_run and args.apply_config:
        out("DRY RUN --apply-config: the change below would be written after success")
    return _config_section(
        project,
        outcome.new_writer_region,
        args.environment,
        apply=args.apply_config and outcome.changed,
        out=out,
    )


def _plan_names(topology: Topology) -> str:
    return ", ".join(p.name for p in topology.plans)


def _first_answer(call, regions):
    """``call(region)`` in each region until one answers (the plan's data plane is regional:
    a lost region must not stop the tool)."""
    errors = []
    for region in regions:
        try:
            return call(region), None
        except Exception as exc:
            errors.append(f"{region}: {type(exc).__name__}")
    return None, "; ".join(errors)


def _list_executions(aws: Aws, topology: Topology, out: Callable[[str], None]) -> int:
    code = OK
    for plan in topology.plans:
        found, error = _first_answer(
            lambda r, p=plan: aws.executions(p.arn, region=r), plan.regions
        )
        if found is None:
            out(f"plan {plan.name}: cannot list executions ({error})")
            code = ABORTED
            continue
        out(f"plan {plan.name} ({plan.arn}): {len(found)} execution(s), newest first")
        for execution in sorted(found, key=lambda e: e.started or utcnow(), reverse=True):
            out("  " + _execution_line(execution))
    return code


def _execution_line(execution: Execution) -> str:
    started = execution.started.isoformat() if execution.started else "-"
    ended = execution.ended.isoformat() if execution.ended else "-"
    return (
        f"{execution.execution_id}  {execution.action} ({execution.mode}) in "
        f"{execution.region}  {execution.state}  {started} → {ended}  recovery "
        f"{execution.actual_recovery_time or '-'}  {execution.comment or ''}"
    ).rstrip()


def _find_execution(aws: Aws, topology: Topology, execution_id: str):
    for plan in topology.plans:
        found, _ = _first_answer(
            lambda r, p=plan: aws.execution(p.arn, execution_id, region=r), plan.regions
        )
        if found is not None:
            return plan.arn, found
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
