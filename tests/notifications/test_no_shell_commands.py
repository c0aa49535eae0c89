"""No email tells anyone to run a shell command: every decision it asks for is a link to a page (issue 16).

Every sample of tests/notifications/test_email_snapshots.py is rendered, text and HTML, and searched for
`auditcycle <subcommand>`, `--by` and `YOUR_STAFF_ID`.
"""
import html
import re

import pytest
import typer.main
from test_email_snapshots import SAMPLES, default_framework  # noqa: F401  (the fixture: default settings)

from auditcycle.cli import app
from auditcycle.cli import commands as _registers_commands  # noqa: F401  (each module adds its commands)

# Samples that still name a command, while the emails that ask for those acts get their links (other
# branches of issue 16). This list must end EMPTY: remove a sample as soon as its email carries a link
# instead; the last test below fails for a sample listed here that no longer names a command.
NOT_YET_LINKED: frozenset[str] = frozenset({
    "action_reopened",
    "audit_notice--supervision-gap",
    "audit_outcome",
    "audit_outcome--updated-without-actions",
    "delivery_failure",
    "drawn_list",
    "immediate_response",
    "immediate_response--escalation",
    "immediate_response--reminder",
    "mad_draft",
    "mad_draft--no-strengths",
    "mad_drafts",
    "moderation_chase",
    "moderation_chase--awaiting-director",
    "observation_assignment",
    "observation_reminder",
    "observation_reminder--overdue",
    "supervision_prompt",
    "supervision_prompt--with-responses",
})


def _subcommands() -> list[str]:
    """Return every name `auditcycle` answers to as its first word: its commands and command groups."""
    group = typer.main.get_command(app)
    return sorted(group.commands)  # type: ignore[attr-defined]


SHELL = re.compile(r"\bauditcycle\s+(?:" + "|".join(re.escape(c) for c in _subcommands()) + r")\b"
                   r"|(?<![\w-])--by\b|YOUR_STAFF_ID")


def _offences(sample: str) -> list[str]:
    composed = SAMPLES[sample]()
    # The HTML part as a reader sees it: tags and entities undone, so <code>auditcycle</code>&nbsp;respond counts.
    shown = html.unescape(re.sub(r"<[^>]+>", "", composed.html)).replace("\xa0", " ")
    return sorted({m.group(0) for body in (composed.subject, composed.text, shown) for m in SHELL.finditer(body)})


def test_the_pattern_knows_the_commands() -> None:
    assert {"respond", "dispute", "action", "reschedule", "deliver", "web"} <= set(_subcommands())
    assert SHELL.search("run `auditcycle respond IR-1 --by YOUR_STAFF_ID`")
    assert not SHELL.search("This message was sent by auditcycle. Children are referred to by case id only.")


@pytest.mark.parametrize("sample", sorted(set(SAMPLES) - NOT_YET_LINKED))
def test_no_email_names_a_shell_command(sample: str) -> None:
    assert _offences(sample) == [], f"{sample} tells its reader to run a command: give it a link to a page instead"


def test_every_sample_not_yet_linked_still_names_a_command() -> None:
    # One test over the list, not one a sample: an empty list must not show as a skipped test.
    assert sorted(NOT_YET_LINKED - set(SAMPLES)) == [], "not samples of test_email_snapshots.py: remove them"
    assert [sample for sample in sorted(NOT_YET_LINKED) if not _offences(sample)] == [], (
        "these name no command any more: remove them from NOT_YET_LINKED")
