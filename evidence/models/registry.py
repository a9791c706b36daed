"""Trial-registry surveillance: ClinicalTrials.gov registrations a review tracks, their status history, the
ledger of registry searches, and the tasks they raise in the reviewers' queue."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

nct_id_validator = RegexValidator(r"^NCT\d{8}$", "An NCT id is NCT followed by 8 digits.")
partial_date_validator = RegexValidator(r"^(\d{4}(-\d{2}(-\d{2})?)?)?$", "A date as yyyy, yyyy-MM or yyyy-MM-dd.")


class RegistrationScreening(models.TextChoices):
    """Where a registration stands in the review's screening (its own record type, beside citations)."""

    PENDING = "pending", "Not yet screened"
    ONGOING = "ongoing", "Included: ongoing study"
    AWAITING = "awaiting", "Included: awaiting classification"
    EXCLUDED = "excluded", "Excluded"


class EnrolmentType(models.TextChoices):
    ACTUAL = "ACTUAL", "Actual"
    ESTIMATED = "ESTIMATED", "Anticipated"
    UNSTATED = "", "Not stated"


class RegistrySearchRun(models.Model):
    """One registry search of a review: the last-update-posted window it covered and what it found."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="registry_search_runs")
    query = models.JSONField(help_text="The query.cond / query.intr / query.term sent.")
    window_start = models.DateField(help_text="Last update posted from (inclusive).")
    window_end = models.DateField(help_text="Last update posted to (inclusive).")
    status = models.CharField(max_length=10, choices=[(s, s.title()) for s in ("running", "succeeded", "failed")])
    triggered_by = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    requests_made = models.PositiveIntegerField(default=0)
    records_found = models.PositiveIntegerField(default=0)
    records_new = models.PositiveIntegerField(default=0)
    records_updated = models.PositiveIntegerField(default=0)
    status_changes = models.PositiveIntegerField(default=0)
    tasks_raised = models.PositiveIntegerField(default=0)
    notes = models.JSONField(default=list, blank=True, help_text="Handled cases: withdrawn, merged (alias) ids.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # One run per review at a time: a second worker's claim fails on this index.
            models.UniqueConstraint(fields=["review"], condition=Q(status="running"), name="registry_run_one_running"),
            models.CheckConstraint(condition=Q(window_start__lte=F("window_end")), name="registry_run_window_ordered"),
        ]
        indexes = [
            # The next window's start and the PRISMA registers box: a review's successful runs.
            models.Index(fields=["review", "status", "-window_end"], name="registry_run_last_success"),
        ]

    def __str__(self) -> str:
        return f"{self.review.slug} registry {self.window_start}–{self.window_end} [{self.status}]"


class Registration(models.Model):
    """One ClinicalTrials.gov registration as the review tracks it; one row per review and NCT id."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="registrations")
    nct_id = models.CharField(max_length=11, validators=[nct_id_validator])
    aliases = models.JSONField(default=list, blank=True, help_text="Merged NCT ids (nctIdAliases).")
    brief_title = models.TextField(blank=True)
    official_title = models.TextField(blank=True)
    overall_status = models.CharField(max_length=30)
    phases = models.JSONField(default=list, blank=True)
    study_type = models.CharField(max_length=30, blank=True)
    enrolment_count = models.PositiveIntegerField(null=True, blank=True)
    enrolment_type = models.CharField(max_length=10, choices=EnrolmentType.choices, blank=True)
    arms = models.JSONField(default=list, blank=True)
    interventions = models.JSONField(default=list, blank=True)
    primary_outcomes = models.JSONField(default=list, blank=True)
    start_date = models.CharField(max_length=10, blank=True, validators=[partial_date_validator])
    primary_completion_date = models.CharField(max_length=10, blank=True, validators=[partial_date_validator])
    completion_date = models.CharField(max_length=10, blank=True, validators=[partial_date_validator])
    completion_date_type = models.CharField(max_length=10, blank=True)
    sponsor = models.CharField(max_length=300, blank=True)
    has_results = models.BooleanField(default=False)
    last_update_posted = models.DateField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The study JSON as last received.")
    first_run = models.ForeignKey(
        RegistrySearchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="registrations_found"
    )
    citations = models.ManyToManyField(
        "evidence.Citation", blank=True, related_name="registrations", help_text="Reports citing this NCT id."
    )
    studies = models.ManyToManyField(
        "evidence.Study", blank=True, related_name="registrations", help_text="Studies of the review with this id."
    )
    screening = models.CharField(
        max_length=10, choices=RegistrationScreening.choices, default=RegistrationScreening.PENDING
    )
    screening_reason = models.TextField(blank=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    screened_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["raw"])

    class Meta:
        ordering = ["review", "nct_id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "nct_id"], name="registration_unique_per_review"),
            models.CheckConstraint(
                condition=~Q(screening="excluded") | ~Q(screening_reason=""), name="registration_exclusion_has_reason"
            ),
        ]
        indexes = [
            # The public "ongoing and unpublished trials" list: a review's registrations included as ongoing.
            models.Index(fields=["review", "screening"], name="registration_by_screening"),
        ]

    def __str__(self) -> str:
        return f"{self.nct_id}: {self.brief_title[:80]}"

    @property
    def url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"


class RegistrationStatusChange(models.Model):
    """The registry changed a registration's overall status (or posted results); recorded once per change."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="status_changes")
    run = models.ForeignKey(RegistrySearchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=30)
    to_status = models.CharField(max_length=30)
    last_update_posted = models.DateField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["registration", "recorded_at"]

    def __str__(self) -> str:
        return f"{self.registration.nct_id}: {self.from_status} → {self.to_status}"


class RegistryTaskKind(models.TextChoices):
    COMPLETED = "completed", "Status changed to completed"
    RESULTS_POSTED = "results_posted", "Results posted"
    PUBLICATION_LINKED = "publication_linked", "A publication cites it"


class RegistryTask(models.Model):
    """A task in the reviewers' queue: "results posted for NCT… — check for data". Raised once per event."""

    review = models.ForeignKey("evidence.Review", on_delete=models.CASCADE, related_name="registry_tasks")
    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(max_length=20, choices=RegistryTaskKind.choices)
    key = models.CharField(max_length=60, help_text="What makes the event unique, e.g. the linked citation.")
    message = models.CharField(max_length=300)
    citation = models.ForeignKey(
        "evidence.Citation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(RegistrySearchRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["done_at", "-created_at"]
        constraints = [
            # A second run seeing the same event raises nothing new.
            models.UniqueConstraint(fields=["registration", "key"], name="registry_task_once_per_event"),
        ]
        indexes = [
            # The reviewers' open queue of one review.
            models.Index(fields=["review", "done_at"], name="registry_task_queue"),
        ]

    def __str__(self) -> str:
        return self.message
