"""The persisted domain model."""
from auditcycle.models.access_log import AccessLogEntry, AccessLogRecord
from auditcycle.models.action import Action
from auditcycle.models.audit import Audit, AuditCycle, Nomination
from auditcycle.models.base import Base
from auditcycle.models.child import Child, FamilyContact
from auditcycle.models.console import StaffSession
from auditcycle.models.draw_request import DrawRequest
from auditcycle.models.event import Event
from auditcycle.models.family_advice import ContactAdvice, FamilyAdvice
from auditcycle.models.immediate_response import ImmediateResponse
from auditcycle.models.installation import Installation
from auditcycle.models.learning import MakeADifference, SessionApology, TrendFlag
from auditcycle.models.lease import PhaseLease
from auditcycle.models.link import Link, LinkSecret
from auditcycle.models.meeting import DiaryRecheck, Meeting, MeetingAnswer
from auditcycle.models.moderation import Moderation
from auditcycle.models.observation import Observation, ObservationRecommendation
from auditcycle.models.organisation import BusyPeriod, Service, Staff, Team
from auditcycle.models.outbox import MailSend, OutboxItem, OutboxMessage
from auditcycle.models.phase_run import PhaseRun
from auditcycle.models.questionnaire import QuestionnaireResponse
from auditcycle.models.reply import ReplyMessage
from auditcycle.models.report import ReportEdition
from auditcycle.models.submission import BuddyReview, Dispute, DomainGrade, FamilyFeedback, GradeChange, Submission
from auditcycle.models.supervision_gap import SupervisionGap
from auditcycle.models.theme_plan import PlannedTheme
from auditcycle.models.trail import TrailEntry

__all__ = [
    "AccessLogEntry", "AccessLogRecord", "Action", "Audit", "AuditCycle", "Base", "BuddyReview", "BusyPeriod", "Child", "ContactAdvice", "DiaryRecheck", "Dispute", "DomainGrade",
    "DrawRequest", "Event", "FamilyAdvice", "FamilyContact", "FamilyFeedback", "GradeChange", "ImmediateResponse",
    "Installation", "Link", "LinkSecret", "MailSend", "MakeADifference", "Meeting", "MeetingAnswer",
    "Moderation", "Nomination", "Observation", "ObservationRecommendation", "OutboxItem", "OutboxMessage", "PhaseLease", "PhaseRun", "PlannedTheme", "QuestionnaireResponse", "ReplyMessage", "ReportEdition", "Service",
    "SessionApology", "Staff", "StaffSession", "Submission", "SupervisionGap", "Team", "TrailEntry", "TrendFlag",
]
