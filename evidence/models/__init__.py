from evidence.models.citation import Citation, CitationOrigin, ReviewCitation, TriageStage
from evidence.models.outcome import (
    AdverseEvent,
    Direction,
    MeasurementFormat,
    Outcome,
    OutcomeMeasurement,
    OutcomeType,
    QualityAssessment,
    QualityInstrument,
)
from evidence.models.quarantine import QuarantinedRecord, QuarantineStatus
from evidence.models.recompute import GradeAssessment, RecomputeRun, RecomputeStatus
from evidence.models.review import (
    BinaryMeasure,
    ChangeOrientation,
    CiMethod,
    ContinuousMeasure,
    Estimator,
    LivingStatus,
    ProportionMeasure,
    Review,
)
from evidence.models.search import SearchRun, SearchRunStatus
from evidence.models.study import (
    CONTROLLED_DESIGNS,
    ArmRole,
    CellSource,
    ContrastBasis,
    Donor,
    Intervention,
    OverlapStrength,
    Route,
    Study,
    StudyArm,
    StudyDesign,
    StudyOverlapFlag,
    StudyReport,
    StudyStatus,
)
from evidence.models.version import (
    Certainty,
    PooledResult,
    ReviewVersion,
    SafetyResult,
    StudyResult,
    StudyRole,
    VersionKind,
)

__all__ = [
    "CONTROLLED_DESIGNS",
    "AdverseEvent",
    "ArmRole",
    "BinaryMeasure",
    "CellSource",
    "Certainty",
    "ChangeOrientation",
    "CiMethod",
    "Citation",
    "CitationOrigin",
    "ContinuousMeasure",
    "ContrastBasis",
    "Direction",
    "Donor",
    "Estimator",
    "GradeAssessment",
    "Intervention",
    "LivingStatus",
    "MeasurementFormat",
    "Outcome",
    "OutcomeMeasurement",
    "OutcomeType",
    "OverlapStrength",
    "PooledResult",
    "ProportionMeasure",
    "QualityAssessment",
    "QualityInstrument",
    "QuarantineStatus",
    "QuarantinedRecord",
    "RecomputeRun",
    "RecomputeStatus",
    "Review",
    "ReviewCitation",
    "ReviewVersion",
    "Route",
    "SafetyResult",
    "SearchRun",
    "SearchRunStatus",
    "Study",
    "StudyArm",
    "StudyDesign",
    "StudyOverlapFlag",
    "StudyReport",
    "StudyResult",
    "StudyRole",
    "StudyStatus",
    "TriageStage",
    "VersionKind",
]

# --- Screening, extraction and approval (reviewer workflow) -----------------------------------------
from evidence.models.extraction import ApprovalAction, DraftStatus, ExtractionDraft, StudyApproval
from evidence.models.screening import (
    Adjudication,
    Decision,
    FullTextExclusionReason,
    ReviewMembership,
    ReviewRole,
    ScreeningDecision,
    ScreeningResolution,
    ScreeningStage,
)

__all__ += [
    "Adjudication",
    "ApprovalAction",
    "Decision",
    "DraftStatus",
    "ExtractionDraft",
    "FullTextExclusionReason",
    "ReviewMembership",
    "ReviewRole",
    "ScreeningDecision",
    "ScreeningResolution",
    "ScreeningStage",
    "StudyApproval",
]
# --- end screening ------------------------------------------------------------------------------------

# --- Access audit ---------------------------------------------------------------------------------------
from evidence.models.audit import AccessRefusal  # noqa: E402

__all__ += ["AccessRefusal"]

# --- Trial-registry surveillance (ClinicalTrials.gov) ---------------------------------------------------
from evidence.models.registry import (  # noqa: E402
    EnrolmentType,
    Registration,
    RegistrationScreening,
    RegistrationStatusChange,
    RegistrySearchRun,
    RegistryTask,
    RegistryTaskKind,
)

__all__ += [
    "EnrolmentType",
    "Registration",
    "RegistrationScreening",
    "RegistrationStatusChange",
    "RegistrySearchRun",
    "RegistryTask",
    "RegistryTaskKind",
]

# --- Full texts of reports (attached in the workspace, streamed to members only) ---------------------
from evidence.models.fulltext import FullText  # noqa: E402

__all__ += ["FullText"]

# --- Per-review operations: the review's search schedule and the ledgers' trigger -------------------------
from evidence.models.schedule import Frequency, ReviewSchedule, RunTrigger, Weekday  # noqa: E402

__all__ += ["Frequency", "ReviewSchedule", "RunTrigger", "Weekday"]
