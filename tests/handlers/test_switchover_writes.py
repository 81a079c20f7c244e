"""R-DR-4 / R-DATA-2: after a switchover both regions still accept writes, with exactly the
configuration they were deployed with — no redeploy.

Each region's functions are built from the synthesized stack: the api's role hint and the
cluster's global write forwarding setting come from ``prod-eu``/``prod-us`` as the real program
declares them. The regions' RDS Proxy endpoints are played by local servers, per role:

* writer region: read/write endpoint → the writer; read-only endpoint → the writer cluster's
  readers, which refuse writes (SQLSTATE 25006): the session's hot standby.
* secondary region: read/write endpoint → no target (nothing listens); read-only endpoint → its
  readers, which forward writes to the writer when the cluster has write forwarding (played by
  the writer itself: that is where a forwarded write lands) and refuse them otherwise.

A switchover flips the roles and nothing else. Then the app's own synchronous write (``PUT
/me/preferences``) and the Region switch smoke step must commit in both regions.
"""

from __future__ import annotations

import psycopg
import pytest

from backend import dr_probe
from backend.db import Database
from backend.preferences import put_preferences
from contract.environment import DbSettings
from tests.handlers.conftest import READER_HOST, wait_replayed
from tests.handlers.helpers import ALICE

NO_TARGET = "127.0.0.3"
API_HANDLER = "handlers.api.main.handler"


def deployed(regional_synths) -> dict[str, tuple[str, bool]]:
    """region → (the api's APP_ROLE_HINT, the cluster's enableGlobalWriteForwarding)."""
    found = {}
    for synth in regional_synths.values():
        api = synth.one(
            "aws:lambda/function:Function", lambda r: r.inputs["handler"] == API_HANDLER
        )
        cluster = synth.one("aws:rds/cluster:Cluster")
        found[synth.config["aws:region"]] = (
            api.inputs["environment"]["variables"]["APP_ROLE_HINT"],
            cluster.inputs["enableGlobalWriteForwarding"],
        )
    return found


def endpoints(role: str, forwarding: bool, writer_host: str) -> tuple[str, str]:
    """(read/write, read-only) endpoint of a region's proxy → the local server it reaches."""
    if role == "writer":
        return writer_host, READER_HOST
    return NO_TARGET, writer_host if forwarding else READER_HOST


def write_in(region: str, hint: str, rw: str, ro: str, env: dict) -> str:
    """The app's preferences write and the smoke step, in one container of ``region``;
    returns the endpoint that took them."""
    # The credentials stay the local stack's (its secret lives in one moto region).
    settings = DbSettings.from_env(
        {**env, "APP_ROLE_HINT": hint, "DB_HOST": rw, "DB_READER_HOST": ro}
    )
    database = Database(settings)
    try:
        saved = database.run(
            lambda conn: put_preferences(conn, ALICE, {"region": region}), write=True
        )
        assert saved.preferences == {"region": region}
        probed = dr_probe.verify_app_path(database, region)
        assert probed.region == region
        return database.current_host or ""
    finally:
        database.close()


@pytest.mark.parametrize("writer", ["eu-west-1", "us-west-1"], ids=["before", "after-switchover"])
def test_both_regions_write_whichever_holds_the_writer_with_no_redeploy(
    regional_synths, env, pg, replica, writer
):
    # GIVEN the two regions as deployed (role hints fixed at deploy time)
    wait_replayed(pg, replica)
    regions = deployed(regional_synths)
    assert regions == {"eu-west-1": ("primary", True), "us-west-1": ("secondary", True)}

    # WHEN the writer is in `writer` (before, then after a switchover) and each region writes
    used = {}
    for region, (hint, forwarding) in regions.items():
        role = "writer" if region == writer else "secondary"
        rw, ro = endpoints(role, forwarding, pg.host)
        used[region] = write_in(region, hint, rw, ro, env)

    # THEN both committed: the writer's region through its read/write endpoint, the other
    # through its read-only endpoint, forwarded to the writer
    secondary = next(r for r in regions if r != writer)
    assert used[writer] == pg.host
    assert used[secondary] == pg.host  # reached through the forwarding reader


def test_without_forwarding_on_the_old_writer_its_region_could_not_write_after_a_switchover(
    regional_synths, env, pg, replica
):
    # GIVEN the EU as deployed, except forwarding off on its cluster (how the writer's cluster
    # was declared before R-DR-4), and the US now the writer
    wait_replayed(pg, replica)
    hint, _ = deployed(regional_synths)["eu-west-1"]
    rw, ro = endpoints("secondary", False, pg.host)

    # WHEN the demoted EU writes THEN its read/write endpoint has no target and its readers
    # refuse the write (25006, on both attempts): nothing accepts it until someone redeploys
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        write_in("eu-west-1", hint, rw, ro, env)
