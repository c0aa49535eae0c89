"""The persisted domain model."""
from .action import Action
from .audit import Audit, AuditCycle, Nomination
from .base import Base
from .child import Child, FamilyContact
from .event import Event
from .immediate_response import ImmediateResponse
from .lease import PhaseLease
from .learning import MakeADifference, TrendFlag
from .meeting import Meeting
from .moderation import Moderation
from .observation import Observation
from .organisation import BusyPeriod, Service, Staff, Team
from .outbox import OutboxMessage
from .phase_run import PhaseRun
from .report import ReportEdition
from .submission import Dispute, DomainGrade, FamilyFeedback, GradeChange, Submission
from .trail import TrailEntry

__all__ = [
    "Action", "Audit", "AuditCycle", "Base", "BusyPeriod", "Child", "Dispute", "DomainGrade", "Event",
    "FamilyContact", "FamilyFeedback", "GradeChange", "ImmediateResponse", "MakeADifference", "Meeting",
    "Moderation", "Nomination", "Observation", "OutboxMessage", "PhaseLease", "PhaseRun", "ReportEdition", "Service",
    "Staff", "Submission", "Team", "TrailEntry", "TrendFlag",
]
