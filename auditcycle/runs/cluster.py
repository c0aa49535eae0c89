"""A phase run whose worker is lost is marked Crashed and run again on another worker, by two Prefect automations.

Prefect 3 leaves the flow run of a killed worker Running for ever and never retries a crashed run itself.
Each flow run sends a heartbeat event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds; the first
automation marks a run Crashed when its heartbeats stop for `lost_after` seconds without the run ending,
and the second puts a crashed run of the work pool back in the queue (Scheduled, "AwaitingRetry"), so the
same flow run, with the same parameters, starts again on whichever worker is free. The phase's own lease
then takes the phase over from the dead holder and sends the mail it had claimed; nothing is sent twice.
A run that keeps crashing is restarted `restarts` times, then left Crashed for someone to look at.
"""
from datetime import timedelta

WORK_POOL = "auditcycle"  # prefect.yaml's work pool
CRASH_LOST_RUNS = "auditcycle: crash runs whose heartbeats stopped"
RESTART_CRASHED_RUNS = "auditcycle: restart crashed runs"
HEARTBEATS_MISSED = 3  # a run is lost when this many heartbeats in a row have not come
DEFAULT_RESTARTS = 2
ENDINGS = ("Completed", "Failed", "Cancelled", "Crashed")


def heartbeat_seconds() -> int:
    """Return how often a flow run sends its heartbeat: Prefect's PREFECT_FLOWS_HEARTBEAT_FREQUENCY setting."""
    from prefect.settings import get_current_settings

    return get_current_settings().flows.heartbeat_frequency or 0


def automations(lost_after: timedelta, restarts: int = DEFAULT_RESTARTS) -> list:
    """Return the two automations: crash a run whose heartbeats stopped, and restart a crashed run."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture

    crash = Automation(
        name=CRASH_LOST_RUNS,
        description=f"A flow run with no heartbeat for {lost_after.total_seconds():.0f} s, and no end, is Crashed.",
        trigger=EventTrigger(
            match={"prefect.resource.id": "prefect.flow-run.*"},
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *(f"prefect.flow-run.{end}" for end in ENDINGS)},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive, threshold=1, within=lost_after),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message="its heartbeats stopped: the worker or its machine was lost")])
    restart = Automation(
        name=RESTART_CRASHED_RUNS,
        description=f"A crashed run of the {WORK_POOL} work pool is queued again, at most {restarts} times.",
        trigger=EventTrigger(
            # prefect.run-count is how many times the run has started: 1 for its first attempt.
            match={"prefect.resource.id": "prefect.flow-run.*",
                   "prefect.run-count": [str(count) for count in range(1, restarts + 1)]},
            match_related={"prefect.resource.role": "work-pool", "prefect.resource.name": WORK_POOL},
            expect={"prefect.flow-run.Crashed"},
            posture=Posture.Reactive, threshold=1, within=timedelta(0)),
        # Forced: Prefect's rules keep a run in a final state, which is what this automation is for.
        actions=[ChangeFlowRunState(state=StateType.SCHEDULED, name="AwaitingRetry", force=True,
                                    message="restarted after a crash; the phase's lease takes over from the lost run")])
    return [crash, restart]


def set_up(lost_after: timedelta | None = None, restarts: int = DEFAULT_RESTARTS) -> list:
    """Create (or replace) the two automations on the Prefect server PREFECT_API_URL names; return them."""
    from auditcycle.core.errors import UserError
    from auditcycle.runs.prefect_server import configured_api

    if not configured_api():
        raise UserError("PREFECT_API_URL is not set: give the address of the Prefect server the workers use "
                        "(http://prefect-host:4200/api)")
    if restarts < 0:
        raise UserError(f"restarts: {restarts} is below 0; give how many times a crashed run is started again")
    every = heartbeat_seconds()
    if lost_after is None:
        lost_after = timedelta(seconds=every * HEARTBEATS_MISSED)
    if lost_after.total_seconds() < every * 2:
        raise UserError(f"lost_after: {lost_after.total_seconds():.0f} s is less than two heartbeats "
                        f"(PREFECT_FLOWS_HEARTBEAT_FREQUENCY is {every} s); healthy runs would be crashed")
    created = []
    for automation in automations(lost_after, restarts):
        _delete_named(automation.name)
        created.append(automation.create())
    return created


def _delete_named(name: str) -> None:
    """Delete every automation of this name, so that setting up twice leaves one of each."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(name):
            client.delete_automation(automation.id)
