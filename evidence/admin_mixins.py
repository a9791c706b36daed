"""Admin behaviour shared by every evidence admin: review scoping and read-only event logs."""

from __future__ import annotations

from evidence.selectors_screening import reviews_for_user


class ReviewScopedAdminMixin:
    """A user sees only the rows of the reviews they are a member of (superusers see all).

    ``review_lookup`` is the path from the model to its review ("self" for the Review admin).
    """

    review_lookup = "review"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        lookup = "pk" if self.review_lookup == "self" else self.review_lookup
        return queryset.filter(**{f"{lookup}__in": reviews_for_user(user=request.user)}).distinct()


class ReadOnlyAdminMixin:
    """Immutable records (published versions, ledgers, decisions): viewable, never added, changed or deleted."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
