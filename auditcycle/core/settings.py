"""Settings: environment variables prefixed AUDITCYCLE_, over an optional auditcycle.toml.

The framework's own numbers are configuration with the source document's values as
defaults, so another council changes them in TOML without touching code.
"""
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from auditcycle.core.errors import UserError
from auditcycle.core.questions import DEFAULT_QUESTIONS
from auditcycle.core.text import text_problem

DEFAULT_DOMAINS = {
    "help_protection_stability": "Help, protection and stability",
    "recording_communication": "Recording and communication",
    "assessment": "Assessment",
    "relationship_direct_work": "Relationship-based practice and direct work",
    "multi_agency_planning": "Multi-agency planning, analysis, review and decision making",
    "supervision_oversight": "Role of supervision and management oversight",
    "safeguarding_review_unit": "Role of the Safeguarding and Independent Review Unit",
    "impact_outcomes": "Impact and overall outcomes",
}

# Best first: the order is what "good or better" means.
DEFAULT_GRADES = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement to be good",
    "inadequate": "Inadequate",
}


class ConfigError(UserError):
    """A configuration file that cannot be read; the message names the file and what to fix."""


class LadderStep(BaseModel):
    """One rung of the overdue-action ladder: how long overdue, and who is told."""

    # A misspelt key would otherwise be dropped silently and the default used instead.
    model_config = ConfigDict(extra="forbid")

    after_working_days: int = Field(ge=1, le=60)
    notify: list[Literal["owner", "team_manager", "service_manager", "assistant_director", "qa_manager"]]


class QuestionnaireQuestion(BaseModel):
    """One question of the new-auditor questionnaire: answered from its choices, or in the auditor's own words."""

    model_config = ConfigDict(extra="forbid")

    # Names the answer in the stored response and in `auditcycle list questionnaires --json`.
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    text: str = Field(min_length=1, max_length=300)
    hint: str | None = Field(None, max_length=300)
    # Empty: a free-text answer. Otherwise the scale or choices offered, in the order shown.
    choices: list[str] = Field(default_factory=list, max_length=10)
    required: bool = True

    @field_validator("text", "hint")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        if v is not None and (problem := text_problem(v, multiline=False)):
            raise ValueError(problem)
        return v

    @field_validator("choices")
    @classmethod
    def _plain_choices(cls, v: list[str]) -> list[str]:
        if len(v) == 1 or len(set(v)) != len(v) or any(not c.strip() or len(c) > 100 or text_problem(c, multiline=False)
                                                      for c in v):
            raise ValueError("choices lists two or more different one-line answers of at most 100 characters, "
                             "or none for a free-text answer")
        return v


# The framework says only "New auditors will be sent a questionnaire to gain their feedback on the audit
# process": these are the questions a council starts from, and words its own in TOML.
DEFAULT_QUESTIONNAIRE = (
    QuestionnaireQuestion(key="guidance_clear", text="How clear were the audit guidance and the audit tool?",
                          choices=["Very clear", "Clear", "Not very clear", "Not clear at all"]),
    QuestionnaireQuestion(key="enough_time", text="Did you have enough time to complete the audit?",
                          choices=["Yes", "Just about", "No"]),
    QuestionnaireQuestion(key="support_useful",
                          text="How useful was the support of your buddy and the Practice Improvement Managers?",
                          choices=["Very useful", "Useful", "Not very useful", "I did not need any support"]),
    QuestionnaireQuestion(key="learning_conversation",
                          text="How did the learning conversation with the practitioner go?",
                          choices=["Very well", "Well", "Not well", "It did not take place"]),
    QuestionnaireQuestion(key="improve", text="What would improve the audit process?",
                          hint="Refer to any child by case id. Do not include names.", required=False),
)


class FrameworkSettings(BaseModel):
    """The Quality Assurance & Impact Framework's rules, as data."""

    model_config = ConfigDict(extra="forbid")

    domains: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_DOMAINS))
    grades: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_GRADES))
    # The questions the form shows as guidance for each domain; a council words its own in TOML.
    questions: dict[str, list[str]] = Field(default_factory=lambda: {d: list(q) for d, q in DEFAULT_QUESTIONS.items()})
    # The framework considers every domain in every audit: only these may be "not applicable", with a reason,
    # and only for a child with no IRO or CP chair (the Safeguarding and Review Unit has then had no part).
    not_applicable_domains: list[str] = Field(default_factory=lambda: ["safeguarding_review_unit"])
    audit_lookback_months: int = Field(6, ge=1, le=60)
    reaudit_exclusion_months: int = Field(6, ge=0, le=60)
    action_max_days: int = Field(31, ge=1, le=365)
    immediate_response_hours: int = Field(24, ge=1, le=168)
    supervision_gap_months: int = Field(6, ge=1, le=36)
    # The QA team reviews a drawn monthly list before anyone is told: notices wait for its approval or,
    # unapproved, until this many working days after the draw at this time (0: the draw's own day).
    list_review_working_days: int = Field(1, ge=0, le=10)
    list_review_time: time = time(12, 0)
    moderation_share: float = Field(1 / 3, gt=0, le=1)
    learning_conversation_minutes: int = Field(60, ge=15, le=480)
    family_call_minutes: int = Field(30, ge=10, le=240)
    # The family calls wait this many working days after the notice for the key worker's advice on how to
    # reach the family, then are booked on the imported contact details.
    family_advice_wait_working_days: int = Field(2, ge=0, le=10)
    young_person_call_minutes: int = Field(30, ge=10, le=240)
    iro_conversation_minutes: int = Field(30, ge=10, le=240)
    manager_conversation_minutes: int = Field(30, ge=10, le=240)
    # The team manager's conversation is booked no sooner than this after the reason for it arises.
    manager_conversation_notice_working_days: int = Field(1, ge=0, le=10)
    # Minimum notice: no meeting starts sooner than this many working days after its invite (or update) is sent.
    monthly_meeting_notice_working_days: int = Field(3, ge=0, le=20)
    adhoc_meeting_notice_working_days: int = Field(1, ge=0, le=20)
    # A monthly learning conversation waits until the auditor has had time to read the record: from this
    # working day of the audit month (the first working day is 1).
    learning_conversation_from_working_day: int = Field(5, ge=1, le=20)
    # A month's meetings are spread across its window: no person has more audit meetings than this in a day.
    audit_meetings_per_person_per_day: int = Field(2, ge=1, le=16)
    young_person_min_age: int = Field(12, ge=0, le=25)
    adult_age: int = Field(18, ge=16, le=25)
    working_day_start: time = time(9, 0)
    working_day_end: time = time(17, 0)
    working_weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    bank_holiday_country: str = "GB"
    bank_holiday_subdivision: str | None = "ENG"
    reminder_offsets_working_days: list[int] = Field(default_factory=lambda: [5, 1])
    guidance_url: str = "https://example.org/auditcycle/audit-guidance"
    overdue_qa_copy_working_days: int = Field(3, ge=1, le=30)
    moderation_close_working_days: int = Field(10, ge=1, le=60)
    moderation_meeting_minutes: int = Field(120, ge=30, le=480)
    # The moderation panel meeting starts no sooner than this many working days after its invite is sent.
    moderation_panel_notice_working_days: int = Field(2, ge=0, le=20)
    moderation_panel_service: str = "Safeguarding & Review Unit"
    # Working days after selection an undecided moderation is chased: the panel, the QA manager, an assistant director.
    moderation_chase_working_days: list[int] = Field(default_factory=lambda: [3, 5, 8], min_length=3, max_length=3)
    immediate_response_reminder_hours: int = Field(4, ge=1, le=23)
    text_max_chars: int = Field(10_000, ge=100, le=100_000)
    action_reminder_working_days: list[int] = Field(default_factory=lambda: [2])
    action_reopen_working_days: int = Field(10, ge=1, le=31)
    action_ladder: list[LadderStep] = Field(default_factory=lambda: [
        LadderStep(after_working_days=1, notify=["owner", "team_manager"]),
        LadderStep(after_working_days=5, notify=["service_manager"]),
        LadderStep(after_working_days=10, notify=["assistant_director"]),
    ])
    observation_interval_months: int = Field(12, ge=1, le=36)
    # A nomination takes the place of a record drawn at random, so each service nominates at most this many
    # good-practice examples for a month: the sample stays chiefly random, as the framework asks.
    good_practice_per_service: int = Field(1, ge=1, le=10)
    trend_inadequate_share: float = Field(0.3, gt=0, le=1)
    trend_window_months: int = Field(3, ge=1, le=24)
    learning_session_minutes: int = Field(90, ge=30, le=480)
    learning_session_working_days_after_close: int = Field(5, ge=0, le=30)
    learning_session_time: time = time(13, 30)
    mad_interview_minutes: int = Field(60, ge=15, le=240)
    # The new-auditor questionnaire, answered on the page its email links to (`[[framework.questionnaire]]`).
    questionnaire: list[QuestionnaireQuestion] = Field(
        default_factory=lambda: [q.model_copy() for q in DEFAULT_QUESTIONNAIRE], min_length=1, max_length=20)
    report_distribution_roles: list[str] = Field(default_factory=lambda: [
        "assistant_director", "service_manager", "team_manager", "qa_manager",
        "practice_improvement_manager", "principal_social_worker"])
    report_restricted_roles: list[str] = Field(default_factory=lambda: [
        "assistant_director", "service_manager", "principal_social_worker"])
    # After moderation closes (10 working days after the due date), so the mailed report is final.
    report_working_day: int = Field(12, ge=1, le=20)
    # Team figures under this are suppressed in the broadcast report, with the cells that would give them back.
    report_min_cell: int = Field(5, ge=1, le=20)

    @model_validator(mode="before")
    @classmethod
    def _no_questionnaire_url(cls, data: object) -> object:
        # Said plainly rather than as an unknown key: a council's file from before the questionnaire was a page.
        if isinstance(data, dict) and "questionnaire_url" in data:
            raise ValueError("questionnaire_url is no longer used: new auditors answer the questionnaire on "
                             "auditcycle's own page (its questions are framework.questionnaire); delete the setting")
        return data

    @field_validator("questionnaire")
    @classmethod
    def _distinct_keys(cls, v: list[QuestionnaireQuestion]) -> list[QuestionnaireQuestion]:
        keys = [q.key for q in v]
        if len(set(keys)) != len(keys):
            raise ValueError("each question of the questionnaire needs a key of its own")
        return v

    @field_validator("working_weekdays")
    @classmethod
    def _weekdays_in_range(cls, v: list[int]) -> list[int]:
        if not v or any(d < 0 or d > 6 for d in v):
            raise ValueError("working_weekdays must list weekday numbers 0 (Monday) to 6 (Sunday)")
        return sorted(set(v))

    @field_validator("reminder_offsets_working_days")
    @classmethod
    def _offsets_positive(cls, v: list[int]) -> list[int]:
        if any(d < 0 for d in v):
            raise ValueError("reminder offsets count working days before the due date, so must be >= 0")
        return sorted(set(v), reverse=True)

    @field_validator("moderation_chase_working_days")
    @classmethod
    def _chase_ascending(cls, v: list[int]) -> list[int]:
        if any(d < 1 for d in v) or v != sorted(set(v)):
            raise ValueError("moderation_chase_working_days lists three working-day counts, each at least 1, "
                             "in rising order (panel, QA manager, assistant director)")
        return v

    @model_validator(mode="after")
    def _check(self) -> "FrameworkSettings":
        if self.working_day_end <= self.working_day_start:
            raise ValueError("working_day_end must be after working_day_start")
        if len(self.domains) == 0 or len(self.grades) < 2:
            raise ValueError("the framework needs at least one domain and two grades")
        if unknown := sorted({*self.questions, *self.not_applicable_domains} - set(self.domains)):
            raise ValueError(f"questions and not_applicable_domains name domains only; not domains: {unknown}")
        return self

    @property
    def good_or_better(self) -> list[str]:
        """Return the grades that count as good or better."""
        slugs = list(self.grades)
        return slugs[: slugs.index("good") + 1] if "good" in slugs else slugs[:1]

    @property
    def worst_grade(self) -> str:
        """Return the grade that counts as inadequate: "inadequate", or the last grade of a council's own scale."""
        slugs = list(self.grades)
        return "inadequate" if "inadequate" in slugs else slugs[-1]


class RepliesSettings(BaseModel):
    """The QA mailbox that invite replies reach (iMIP, RFC 6047), read over IMAP by the `replies` phase.

    Set host, user, one of password or oauth2_token (an XOAUTH2 access token, which Exchange Online requires)
    and authserv_id together, or none of them: unset, the phase reads nothing.
    """

    model_config = ConfigDict(extra="forbid")

    imap_host: str | None = Field(None, max_length=253)
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: Literal["ssl", "starttls", "none"] = "ssl"
    imap_user: str | None = Field(None, max_length=320)
    imap_password: SecretStr | None = None
    imap_oauth2_token: SecretStr | None = None
    imap_folder: str = Field("INBOX", min_length=1, max_length=200)
    imap_timeout_seconds: float = Field(60, gt=0, le=600)
    # The receiving server whose Authentication-Results header is trusted (RFC 8601's authserv-id, such as
    # mx.council.example); Exchange Online writes its header with none: say "exchange-online".
    authserv_id: str | None = Field(None, max_length=253)
    # A meeting moves for this many declines by its required attendees; the next decline goes to the QA manager.
    rebook_declines: int = Field(2, ge=0, le=10)
    # A message or calendar part larger than this is recorded as unreadable, never parsed.
    max_message_bytes: int = Field(5_000_000, ge=10_000, le=100_000_000)
    max_calendar_bytes: int = Field(200_000, ge=1_000, le=10_000_000)

    @field_validator("imap_host", "imap_user", "imap_folder", "authserv_id")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        if v is not None and (problem := text_problem(v, multiline=False)):
            raise ValueError(problem)
        return v

    @model_validator(mode="after")
    def _all_or_none(self) -> "RepliesSettings":
        secrets = [self.imap_password is not None, self.imap_oauth2_token is not None]
        given = [self.imap_host is not None, self.imap_user is not None, any(secrets), self.authserv_id is not None]
        if all(secrets):
            raise ValueError("replies: set imap_password or imap_oauth2_token, not both")
        if any(given) and not all(given):
            raise ValueError("replies: set imap_host, imap_user, imap_password (or imap_oauth2_token) and "
                             "authserv_id together to read invite replies, or none of them")
        return self

    @property
    def configured(self) -> bool:
        """Say whether a mailbox is set, so the phase reads it."""
        return self.imap_host is not None


def web_address(v: str, example: str) -> str:
    """Refuse a value that is not a plain http(s) address; return it without a trailing slash."""
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or text_problem(v, multiline=False):
        raise ValueError(f"{v!r} is not a web address such as {example}")
    return v.rstrip("/")


def existing_file(setting: str, v: Path | None) -> Path | None:
    """Refuse a setting that names a file which is not there."""
    if v is not None and not v.is_file():
        raise ValueError(f"{setting} names {v}, which is not a file")
    return v


class DiarySettings(BaseModel):
    """Where staff diaries are read from (`[diary]` in TOML): the imported busy periods, CalDAV or Microsoft 365."""

    model_config = ConfigDict(extra="forbid")

    # "import": the busy periods of `auditcycle import busy` (CSV or .ics); "caldav": a free-busy query per
    # person's calendar; "graph": Microsoft Graph getSchedule with an app token.
    source: Literal["import", "caldav", "graph"] = "import"
    # CalDAV: the server, the account that reads everyone's free/busy, and where each person's calendar is
    # ({email} and {user}, the part before the @, are filled in): Nextcloud's is
    # "remote.php/dav/calendars/{user}/personal/".
    caldav_url: str | None = Field(None, max_length=300)
    caldav_username: str | None = Field(None, max_length=200)
    caldav_password: SecretStr | None = None
    caldav_calendar_path: str = Field("{email}/calendar/", max_length=300)
    # Microsoft Graph: the app registration (tenant, client id and secret, with Calendars.Read or
    # Schedule.Read.All application permission) and the mailbox whose getSchedule is called.
    graph_tenant_id: str | None = Field(None, max_length=100)
    graph_client_id: str | None = Field(None, max_length=100)
    graph_client_secret: SecretStr | None = None
    graph_mailbox: EmailStr | None = None
    graph_authority: str = Field("https://login.microsoftonline.com", max_length=300)
    graph_url: str = Field("https://graph.microsoft.com/v1.0", max_length=300)
    # Set (with source "graph"), each learning conversation gets a Teams join link, made by
    # POST /users/{this id}/onlineMeetings (the object id of the account that organises them, such as the QA
    # mailbox's; the app needs OnlineMeetings.ReadWrite.All and an application access policy for that account).
    graph_teams_organiser_id: str | None = Field(None, pattern=r"^[A-Za-z0-9@._-]{1,100}$")
    # PEM bundle to trust for the diary server instead of the system's (a council's internal CA).
    ca_file: Path | None = None
    timeout_seconds: float = Field(20, gt=0, le=300)
    # A throttled or failed request is tried again this many times; a Retry-After longer than
    # max_wait_seconds is not waited for: that diary counts as unread this run and is re-checked next run.
    retries: int = Field(3, ge=0, le=10)
    max_wait_seconds: float = Field(30, ge=0, le=600)

    @field_validator("caldav_url", "graph_authority", "graph_url")
    @classmethod
    def _server_address(cls, v: str | None) -> str | None:
        return None if v is None else web_address(v, "https://calendar.council.example/")

    @field_validator("caldav_calendar_path")
    @classmethod
    def _calendar_path(cls, v: str) -> str:
        try:
            v.format(email="a@b.example", user="a")
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"{v!r} may name only {{email}} and {{user}}, such as \"{{email}}/calendar/\"") from None
        if "{email}" not in v and "{user}" not in v:
            raise ValueError(f"{v!r} names nobody: it needs {{email}} or {{user}}, such as \"{{email}}/calendar/\"")
        return v

    @field_validator("ca_file")
    @classmethod
    def _ca_file_exists(cls, v: Path | None) -> Path | None:
        return existing_file("ca_file", v)

    @model_validator(mode="after")
    def _source_all_or_none(self) -> "DiarySettings":
        groups = {
            "caldav": {"caldav_url": self.caldav_url, "caldav_username": self.caldav_username,
                       "caldav_password": self.caldav_password},
            "graph": {"graph_tenant_id": self.graph_tenant_id, "graph_client_id": self.graph_client_id,
                      "graph_client_secret": self.graph_client_secret, "graph_mailbox": self.graph_mailbox},
        }
        if self.graph_teams_organiser_id is not None and self.source != "graph":
            raise ValueError("graph_teams_organiser_id makes Teams links through Microsoft Graph: set source = "
                             "\"graph\" and its settings, or remove graph_teams_organiser_id")
        for source, values in groups.items():
            given = [name for name, value in values.items() if value is not None]
            missing = [name for name in values if name not in given]
            if self.source == source and missing:
                raise ValueError(f"source is {source!r}, which needs {', '.join(missing)} set too "
                                 f"(all of {', '.join(values)})")
            if self.source != source and given:
                raise ValueError(f"{', '.join(given)} set, but source is {self.source!r}: set source = {source!r} "
                                 f"to read diaries from {source}, or remove {' and '.join(given)}")
        return self


class MailRateSettings(BaseModel):
    """How much mail the sending mailbox may send (`[mail_rate]` in TOML): the provider's limits, per From address.

    Unset, a window has no limit. Microsoft 365 allows a mailbox about 30 messages a minute and 10,000
    recipients a day; each message here has one recipient, so per_minute = 30 and per_day = 10000.
    """

    model_config = ConfigDict(extra="forbid")

    per_minute: int | None = Field(None, ge=1, le=1_000_000)
    per_hour: int | None = Field(None, ge=1, le=10_000_000)
    per_day: int | None = Field(None, ge=1, le=100_000_000)
    # The last share of a day's quota only Immediate Responses (and the QA manager's warning) may use.
    immediate_response_reserve: float = Field(0.10, ge=0, lt=1)

    @model_validator(mode="after")
    def _windows_agree(self) -> "MailRateSettings":
        windows = [("per_minute", self.per_minute), ("per_hour", self.per_hour), ("per_day", self.per_day)]
        given = [(name, limit) for name, limit in windows if limit is not None]
        for (short, short_limit), (long, long_limit) in zip(given, given[1:], strict=False):
            if short_limit > long_limit:
                raise ValueError(f"mail_rate: {short} ({short_limit}) is more than {long} ({long_limit}); "
                                 f"a shorter window cannot allow more than a longer one")
        return self

    @property
    def limited(self) -> bool:
        """Say whether any window has a limit, so the gateway counts sends at all."""
        return any(limit is not None for limit in (self.per_minute, self.per_hour, self.per_day))


class Settings(BaseSettings):
    """Where the database, mail and files live, and the framework's rules."""

    model_config = SettingsConfigDict(
        env_prefix="AUDITCYCLE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite:///auditcycle.db"
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_timeout_seconds: float = Field(30, gt=0)
    # PEM bundle of the certificate authorities to trust instead of the system's (a council's internal CA).
    smtp_ca_file: Path | None = None
    # How long a sender's claim on a batch lasts: a sender killed mid-batch holds its messages this long.
    send_claim_seconds: float = Field(600, gt=0)
    # A phase's lease lapses this long after its holder stops renewing it (a run killed on another host).
    lease_ttl_minutes: float = Field(30, gt=0, le=24 * 60)
    # How long a run waits for another run of the same phase to finish before it is refused.
    lease_wait_seconds: float = Field(0, ge=0, le=24 * 3600)
    # How long SQLite waits for another process's write lock before the run stops with DatabaseBusy.
    sqlite_busy_seconds: float = Field(30, gt=0, le=3600)
    mail_from: EmailStr = "qa-team@example.org"
    mail_from_name: str = Field("Quality Assurance Team", max_length=200)
    # Where a meeting happens when neither its organiser nor their team has a room or link of their own
    # (the staff import's meeting_location and team_meeting_location): a council's usual room or Teams line.
    meeting_location: str | None = Field(None, max_length=500)
    outbox_dir: Path = Path("outbox")
    reports_dir: Path = Path("reports")
    timezone: str = "Europe/London"
    # Years after a child's last audit before their personal fields are erased (see auditcycle.privacy.retention).
    retention_years: int = Field(2, ge=1, le=100)
    # A demo, a replay or a rehearsal: `--now` may set the clock. Honoured only on a database created as a
    # simulation (see auditcycle.storage.installation); a council's real database refuses it.
    simulation: bool = False
    # The operating-system accounts that may act for a member of staff with `--by` on the command line;
    # empty, any account may. A council that answers through the web can list only its operators here.
    cli_operators: list[str] = Field(default_factory=list)
    # A council's own times for a phase's schedule, by phase name (`[schedules]` in TOML, or
    # AUDITCYCLE_SCHEDULES__SAMPLE="0 6 * * 1-5"); a phase not named keeps the default of runs.phases.
    schedules: dict[str, str] = Field(default_factory=dict)
    # The web application (auditcycle.web): the key that signs its session cookie, at least 32 characters
    # (`python -c "import secrets; print(secrets.token_hex(32))"`). Unset, the app refuses to start, except
    # in a simulation, where each start makes a throwaway key.
    web_secret_key: SecretStr | None = Field(None, min_length=32)
    # The service's name in every page's header and title, and the council's name in its footer and statement.
    web_service_name: str = Field("Case audit", min_length=1, max_length=80)
    web_council_name: str = Field("The council", min_length=1, max_length=120)
    # Cookies go over HTTPS only; turned off only to try the app over plain http on a developer's machine.
    web_cookie_secure: bool = True
    # Where the web front end is reached: every signed link in an email is {base_url}/act/{token}.
    base_url: str = Field("http://127.0.0.1:8000", max_length=200)
    # Secrets that sign the links, newest first: the first signs, every one is accepted (add a new key at the
    # front, drop the old one once its links have expired). Unset, the secret generated once in the database
    # signs them (see auditcycle.links.keys).
    link_secret_keys: list[SecretStr] = Field(default_factory=list)
    # A link lasts the later of this many days after it is sent and this many working days after the act's deadline.
    link_min_days: int = Field(14, ge=1, le=365)
    link_working_days_after_deadline: int = Field(5, ge=0, le=60)
    # The QA console's sign-in: a mailed sign-in link lasts minutes; a session ends when idle, and in any case.
    sign_in_link_minutes: int = Field(15, ge=1, le=60)
    console_idle_minutes: int = Field(30, ge=1, le=480)
    console_session_hours: int = Field(8, ge=1, le=24)
    # The council's OpenID Connect sign-in service (Microsoft Entra ID: https://login.microsoftonline.com/<tenant>/v2.0),
    # pinned: an ID token from any other issuer is refused. Set all three, or none for mailed sign-in links.
    oidc_issuer: str | None = Field(None, max_length=300)
    oidc_client_id: str | None = Field(None, max_length=200)
    oidc_client_secret: SecretStr | None = None
    framework: FrameworkSettings = Field(default_factory=FrameworkSettings)
    # Invite replies read back from the QA mailbox (`[replies]` in TOML, or AUDITCYCLE_REPLIES__IMAP_HOST).
    replies: RepliesSettings = Field(default_factory=RepliesSettings)

    diary: DiarySettings = Field(default_factory=DiarySettings)
    # The sending mailbox's limits (`[mail_rate]` in TOML, or AUDITCYCLE_MAIL_RATE__PER_MINUTE); unset, none.
    mail_rate: MailRateSettings = Field(default_factory=MailRateSettings)

    @field_validator("base_url")
    @classmethod
    def _web_address(cls, v: str) -> str:
        return web_address(v, "https://audits.council.example")

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_address(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = urlsplit(v)
        loopback = parts.hostname in ("localhost", "127.0.0.1")
        if not (parts.scheme == "https" or parts.scheme == "http" and loopback) or not parts.hostname \
                or parts.query or parts.fragment or text_problem(v, multiline=False):
            raise ValueError(f"{v!r} is not an https address of a sign-in service, such as "
                             "https://login.microsoftonline.com/<tenant id>/v2.0")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _oidc_all_or_none(self) -> "Settings":
        given = [self.oidc_issuer is not None, self.oidc_client_id is not None, self.oidc_client_secret is not None]
        if any(given) and not all(given):
            raise ValueError("oidc_issuer, oidc_client_id and oidc_client_secret: set all three to sign in with the "
                             "council's sign-in service, or none to sign in with mailed links")
        return self

    @field_validator("link_secret_keys")
    @classmethod
    def _long_secrets(cls, v: list[SecretStr]) -> list[SecretStr]:
        # The value itself is never repeated in the message: it is a secret.
        for number, key in enumerate(v, start=1):
            if len(key.get_secret_value()) < 32:
                raise ValueError(f"key {number} is shorter than 32 characters; make one with "
                                 "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return v

    @field_validator("schedules")
    @classmethod
    def _five_field_crons(cls, v: dict[str, str]) -> dict[str, str]:
        for phase, cron in v.items():
            fields = cron.split()
            if len(fields) != 5 or text_problem(cron, multiline=False):
                raise ValueError(f"{phase}: {cron!r} is not a cron of five fields, such as \"0 7 * * 1-5\"")
        return v

    @field_validator("smtp_ca_file")
    @classmethod
    def _ca_file_exists(cls, v: Path | None) -> Path | None:
        return existing_file("smtp_ca_file", v)

    @field_validator("mail_from_name", "meeting_location", "web_service_name", "web_council_name")
    @classmethod
    def _one_line(cls, v: str | None) -> str | None:
        # The name goes into the From header of every message, the location into an invite's LOCATION
        # line: a line break there would inject headers or properties.
        if v is not None and (problem := text_problem(v, multiline=False)):
            raise ValueError(problem)
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read init values, then the environment, then the TOML file."""
        return (init_settings, env_settings, _TomlFile(settings_cls, toml_file=config_path()))


class _TomlFile(TomlConfigSettingsSource):
    """The TOML source, with an unreadable file reported as a ConfigError naming the file."""

    def _read_file(self, file_path: Path) -> dict:
        try:
            # utf-8-sig: Windows Notepad may start the file with a byte-order mark.
            return tomllib.loads(file_path.read_bytes().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{file_path}: not UTF-8 text (byte {exc.start}); save the configuration as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file_path}: not valid TOML: {exc}") from None
        except RecursionError:
            raise ConfigError(f"{file_path}: values are nested too deeply to be a configuration") from None
        except OSError as exc:
            raise ConfigError(f"{file_path}: cannot be read ({exc.strerror})") from None


def config_path() -> Path | None:
    """Return the TOML file to read: AUDITCYCLE_CONFIG, else ./auditcycle.toml if present."""
    explicit = os.environ.get("AUDITCYCLE_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"AUDITCYCLE_CONFIG names {path}, which is not a file")
        return path
    local = Path("auditcycle.toml")
    return local if local.is_file() else None


def describe_problem(exc: ValidationError) -> str:
    """Say which settings are wrong and where they came from, one line each, without pydantic's links."""
    try:
        path = config_path()
    except ConfigError:
        path = None
    where = f"{path} or AUDITCYCLE_* environment variables" if path else "AUDITCYCLE_* environment variables"
    lines = [f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: {error['msg']}"
             for error in exc.errors(include_url=False, include_input=False)]
    return f"configuration ({where}):\n" + "\n".join(f"  - {line}" for line in lines)


# Domains kept for examples and tests (RFC 2606, RFC 6761): an address or link there reaches nobody.
EXAMPLE_DOMAINS = ("example.org", "example.com", "example.net")
EXAMPLE_TLDS = (".example", ".test", ".invalid")


def is_example_domain(host: str | None) -> bool:
    """Say whether a host name is one kept for examples, so a value there is still a placeholder."""
    host = (host or "").lower().rstrip(".")
    return (any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)
            or any(host.endswith(t) or host == t[1:] for t in EXAMPLE_TLDS))


def _is_local_address(url: str | None) -> bool:
    """Say whether a web address reaches only this computer or nobody, so links to it are still a placeholder."""
    host = (urlsplit(url or "").hostname or "").lower()
    return host in ("", "localhost", "127.0.0.1", "::1", "0.0.0.0") or host.startswith("127.") or is_example_domain(host)


@dataclass(frozen=True)
class GoLiveSetting:
    """A setting a council sets before its first real month, its value, and whether it is still a placeholder."""

    name: str
    variable: str
    value: str
    placeholder: bool
    means: str


# Each: the setting as TOML names it, what it is for, its value, and whether that value is still a placeholder.
_GO_LIVE: tuple[tuple[str, str, Callable[["Settings"], str | None], Callable[[str | None], bool]], ...] = (
    ("mail_from", "the QA team's address every email is sent from, and replies reach",
     lambda s: str(s.mail_from), lambda v: is_example_domain((v or "").rpartition("@")[2])),
    ("mail_from_name", "the name every email is sent under", lambda s: s.mail_from_name, lambda v: not v),
    ("smtp_host", "the council's mail server; unset, mail is only written to the outbox folder",
     lambda s: s.smtp_host, lambda v: not v),
    ("framework.guidance_url", "the audit guidance every notice and reminder links to",
     lambda s: s.framework.guidance_url, lambda v: is_example_domain(urlsplit(v or "").hostname)),
    ("base_url", "where the web front end is reached; every signed link in an email starts with it",
     lambda s: s.base_url, _is_local_address),
)


def go_live_settings(settings: "Settings") -> list[GoLiveSetting]:
    """List the settings a council must set before going live, each with its value and whether it is a placeholder.

    A placeholder is a value nobody can receive: an address or link at a domain kept for examples
    (example.org, *.example, …), or a mail server left unset.
    """
    found = []
    for name, means, read, is_placeholder in _GO_LIVE:
        value = read(settings)
        found.append(GoLiveSetting(name=name, variable="AUDITCYCLE_" + name.upper().replace(".", "__"),
                                   value=value or "", placeholder=is_placeholder(value), means=means))
    return found


@lru_cache(maxsize=1)
def _process_settings() -> Settings:
    return Settings()


def get_settings() -> Settings:
    """Return the settings, loaded once per process: the current council's, in a region (see auditcycle.core.region)."""
    from auditcycle.core import region  # a region's councils are built from Settings, defined above

    return _process_settings() if not region.in_region() else region.council_settings()


def clear_settings() -> None:
    """Forget the settings read so far (and a region's), so the next get_settings() reads them again."""
    from auditcycle.core import region

    _process_settings.cache_clear()
    region.clear_region()


# Kept as the name callers and tests already use to make the process read its settings again.
get_settings.cache_clear = clear_settings  # type: ignore[attr-defined]
