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
from evidence.models.study import CellSource, Donor, Intervention, Route, Study, StudyDesign, StudyReport, StudyStatus
from evidence.models.version import (
    Certainty,
    PooledResult,
    ReviewVersion,
    SafetyResult,
    StudyResult,
    VersionKind,
)

__all__ = [
    "AdverseEvent",
    "BinaryMeasure",
    "CellSource",
    "Certainty",
    "ChangeOrientation",
    "CiMethod",
    "Citation",
    "CitationOrigin",
    "ContinuousMeasure",
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
    "StudyDesign",
    "StudyReport",
    "StudyResult",
    "StudyStatus",
    "TriageStage",
    "VersionKind",
]

# --- Screening, extraction and approval (reviewer workflow) -----------------------------------------
from evidence.models.extraction import ApprovalAction, DraftStatus, ExtractionDraft, StudyApproval
from evidence.models.screening import (
    ROLE_GROUPS,
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
    "ROLE_GROUPS",
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
