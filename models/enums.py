"""Closed vocabularies of the framework, shared by the schema and the inputs."""
from enum import StrEnum


class Role(StrEnum):
    KEY_WORKER = "key_worker"
    TEAM_MANAGER = "team_manager"
    SERVICE_MANAGER = "service_manager"
    ASSISTANT_DIRECTOR = "assistant_director"
    IRO = "iro"
    CP_CHAIR = "cp_chair"
    QA_MANAGER = "qa_manager"
    PRACTICE_IMPROVEMENT_MANAGER = "practice_improvement_manager"
    PRINCIPAL_SOCIAL_WORKER = "principal_social_worker"


QA_TEAM_ROLES = frozenset(
    {Role.QA_MANAGER, Role.PRACTICE_IMPROVEMENT_MANAGER, Role.PRINCIPAL_SOCIAL_WORKER}
)


class Cohort(StrEnum):
    EARLY_HELP = "early_help"
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"
    CARED_FOR = "cared_for"
    CARE_EXPERIENCED = "care_experienced"
    YOUTH_JUSTICE = "youth_justice"


class AuditKind(StrEnum):
    DEEP_DIVE = "deep_dive"
    DIP_SAMPLE = "dip_sample"
    GOOD_PRACTICE = "good_practice"


class AuditStatus(StrEnum):
    ALLOCATED = "allocated"
    NOTIFIED = "notified"
    BOOKED = "booked"
    SUBMITTED = "submitted"
    IN_MODERATION = "in_moderation"
    COMPLETED = "completed"
    REPLACED = "replaced"
    WITHDRAWN = "withdrawn"


class CycleKind(StrEnum):
    MONTHLY = "monthly"
    DEEP_DIVE = "deep_dive"
    DIP_SAMPLE = "dip_sample"


class MeetingKind(StrEnum):
    LEARNING_CONVERSATION = "learning_conversation"
    FAMILY_CALL = "family_call"
    YOUNG_PERSON_CALL = "young_person_call"
    IRO_CONVERSATION = "iro_conversation"
    # With the key worker's team manager, where the framework asks: an inadequate grade, an IR, a dispute.
    MANAGER_CONVERSATION = "manager_conversation"


class MeetingStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"


class ModerationStatus(StrEnum):
    PENDING = "pending"
    AGREED = "agreed"
    CHANGED = "changed"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    SIGNED_OFF = "signed_off"


class ResponseTrigger(StrEnum):
    SUPERVISION_GAP = "supervision_gap"
    SAFEGUARDING_CONCERN = "safeguarding_concern"


class SupervisionGapStatus(StrEnum):
    SUSPECTED = "suspected"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    RAISED_AUTOMATICALLY = "raised_automatically"


class ResponseStatus(StrEnum):
    OPEN = "open"
    RESPONDED = "responded"


class ObservationStatus(StrEnum):
    ASSIGNED = "assigned"
    DONE = "done"


class ObservationType(StrEnum):
    """What was observed: the framework's examples of everyday practice."""

    FAMILY_MEETING = "family_meeting"    # a meeting with a family, such as a Child in Need meeting
    HOME_VISIT = "home_visit"
    SUPERVISION = "supervision"
    MEETING_CHAIRED = "meeting_chaired"


class RecommendedFrom(StrEnum):
    """Where an observation was recommended: an audit, or a Personal Development Review."""

    AUDIT = "audit"
    PDR = "pdr"


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class PhaseRunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TrailAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
