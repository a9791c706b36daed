"""The audit trail of refused access: who tried what on which row, and why it was refused."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AccessRefusal(models.Model):
    """One refused request: a forged POST, a tampered id, another review's page, a role one may not grant.

    Written outside the refused request's transaction, so the refusal is kept while its writes are not.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True, help_text="Kept when the account is deleted.")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    model = models.CharField(max_length=100, blank=True, help_text="app_label.model_name of the row asked for.")
    object_id = models.CharField(max_length=64, blank=True)
    status = models.PositiveSmallIntegerField(help_text="403 refused, 404 hidden.")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The admin changelist of refusals, newest first, and "what did this user try".
            models.Index(fields=["user", "created_at"], name="access_refusal_by_user"),
        ]

    def __str__(self) -> str:
        return f"{self.username or 'anonymous'} {self.method} {self.path} → {self.status}"
