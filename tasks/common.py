"""What every task shares: plain strings in, plain values out, the context and the session owned here.

Nothing is persisted or cached by Prefect, so no personal data reaches its database.
"""
import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

from prefect import Task
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext

from auditcycle.core.clock import Month
from auditcycle.core.context import build_context
from auditcycle.storage.db import session_scope

TASK_OPTIONS = {"persist_result": False, "cache_policy": NONE}
_OWNED = ("session", "ctx")


class PhaseTask(Task):
    """A Prefect task inside a flow run; called outside one (a phase run by hand with no Prefect server), its function.

    Outside a flow Prefect would still run the task through its engine, which needs a server: the
    temporary one costs seconds to start and records what nobody reads. The function is the same either way.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the task through Prefect's engine in a flow run, else call its function as it is."""
        if FlowRunContext.get() is None:
            return self.fn(*args, **kwargs)
        return super().__call__(*args, **kwargs)


def step_task(name: str) -> Callable[[Callable[..., Any]], PhaseTask]:
    """Make a function a phase's task named `name`, persisting and caching nothing."""
    return lambda fn: PhaseTask(fn=fn, name=name, **TASK_OPTIONS)


def phase_task(name: str) -> Callable[[Callable[..., Any]], Any]:
    """Make a domain step `fn(session, ctx, **options)` a Prefect task taking plain strings, keyword-only.

    The task takes `now` (ISO date-time) and the step's own options, a `month` as "YYYY-MM". It builds the
    context at that clock, opens one session (committed on success, rolled back on error), parses the
    month into a Month, and returns a dataclass result as a plain dict (Prefect's guidance: plain ids in,
    no session or ORM object across the boundary).
    """

    def make(fn: Callable[..., Any]) -> Any:
        inner = inspect.signature(fn)
        options = [p for n, p in inner.parameters.items() if n not in _OWNED]
        outer = [inspect.Parameter("now", inspect.Parameter.KEYWORD_ONLY, annotation=str)] + [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=str if p.annotation is Month else p.annotation)
            for p in options]

        @functools.wraps(fn)
        def run(**kwargs: Any) -> Any:
            ctx = build_context(kwargs.pop("now"))
            if isinstance(kwargs.get("month"), str):
                kwargs["month"] = Month.parse(kwargs["month"])
            with session_scope() as session:
                result = fn(session, ctx, **kwargs)
            return dataclasses.asdict(result) if dataclasses.is_dataclass(result) else result

        run.__signature__ = inspect.Signature(outer, return_annotation=inner.return_annotation)
        del run.__wrapped__  # Prefect reads the task's parameters from __signature__, not the step's
        return step_task(name)(run)

    return make
