"""Options every task shares: nothing persisted, nothing cached, so no personal data reaches Prefect."""
from prefect.cache_policies import NONE

TASK_OPTIONS = {"persist_result": False, "cache_policy": NONE}
