"""Print a measured figure in the test output, past pytest's capture, for docs/reliability.md."""
import pytest


def report(request: pytest.FixtureRequest, line: str) -> None:
    """Write one line to the terminal even while output is captured."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(line, flush=True)
