"""Admin behaviour shared by every evidence admin: the policy decides, refusals are audited, logs are read-only.

Every permission hook (changelist, add, change, delete, history, actions, module index), every queryset and
every foreign-key choice asks ``evidence.core.policy``; Django's model permissions and groups are never consulted.
An object the user may not see is a 404 (not a redirect that names it); a forged choice of another review's
row is a 403. Each refusal is written to the AccessRefusal log once the refused request has rolled back.
"""

from __future__ import annotations

import functools

from django import forms
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404

from evidence.core import policy
from evidence.core.audit import access_refusal_record
from evidence.core.history_labels import LabelledHistoryContextHelper
from evidence.core.policy import Action


def _user(request):
    """The request's user, with their memberships read once for the whole request."""
    policy.remember_roles(user=request.user)
    return request.user


def record_refusal(request, error: Exception, *, model: str = "", object_id: str = "") -> None:
    status = 404 if isinstance(error, Http404) else 403
    access_refusal_record(
        user=request.user, method=request.method, path=request.get_full_path(), status=status,
        model=model, object_id=object_id, reason=str(error),
    )  # fmt: skip


def audited(view, *, model: str = ""):
    """Wrap a view so a 403/404 it raises is recorded (after its transaction rolled back), then re-raised."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        policy.remember_roles(user=request.user)
        try:
            return view(request, *args, **kwargs)
        except (PermissionDenied, Http404) as error:
            object_id = next((str(value) for value in [*args, *kwargs.values()] if value is not None), "")
            record_refusal(request, error, model=model, object_id=object_id)
            raise

    return wrapper


class ScopedChoiceField(forms.ModelChoiceField):
    """A choice limited by the policy; a forged value naming a row that exists outside it is a 403."""

    unrestricted = None

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            if value not in self.empty_values and self._exists_elsewhere(value):
                raise PermissionDenied(f"{self.label}: {value} is not one you may choose.") from None
            raise

    def _exists_elsewhere(self, value) -> bool:
        try:
            return self.unrestricted is not None and self.unrestricted.filter(pk=value).exists()
        except (ValueError, TypeError, ValidationError):
            return False


def user_choices(*, user):
    """Accounts a user may pick (a new member, an assessor): co-members of their reviews; a review admin also
    sees accounts not yet in any review, so they can invite them."""
    users = get_user_model()._default_manager.filter(is_active=True)
    if user.is_superuser:
        return users
    mine = Q(review_memberships__review__in=policy.review_ids_allowing(user=user, roles=policy.MEMBER))
    if policy.review_ids_allowing(user=user, roles=policy.GRANT_ROLES):
        mine |= Q(review_memberships__isnull=True)
    return users.filter(pk__in=users.filter(mine).values("pk"))


def fk_choices(*, user, source_model, target_model):
    """Rows of ``target_model`` a form of ``source_model`` may point at: in a review where the user may add or
    change ``source_model`` rows (the object check at save time then asks for the exact action)."""
    if target_model is get_user_model():
        return user_choices(user=user)
    if target_model not in policy.RULES or user.is_superuser:
        return None  # not review data (or a superuser): Django's default queryset
    target_rule, source_rule = policy.RULES[target_model], policy.RULES.get(source_model)
    queryset = policy.visible(user=user, queryset=target_model._default_manager.all())
    if target_rule.review_path is None or source_rule is None:
        return queryset
    ids = policy.review_ids_allowing(user=user, roles=source_rule.add + source_rule.change)
    return queryset.filter(pk__in=queryset.filter(**{f"{target_rule.review_path}__in": ids}).values("pk"))


class ScopedForeignKeysMixin:
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        target = db_field.remote_field.model
        choices = fk_choices(user=_user(request), source_model=self.model, target_model=target)
        if choices is None:
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        kwargs.setdefault("queryset", choices)
        kwargs.setdefault("form_class", ScopedChoiceField)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(field, ScopedChoiceField):
            field.unrestricted = target._default_manager.all()
        return field


def outcome_choices_narrow(form_class, review_id: int | None) -> None:
    """Offer only the outcomes of ``review_id`` in ``form_class``'s outcome dropdown: outcomes belong to one
    review, and the editor of two reviews must not point a row at the other's outcome. The model's clean()
    still refuses one by name (an add form does not know its review before it is posted)."""
    field = form_class.base_fields.get("outcome")
    if field is not None and review_id is not None:
        field.queryset = field.queryset.filter(review_id=review_id)


class OutcomesOfItsReviewMixin:
    """A model admin whose object has an outcome: its dropdown lists the object's review's outcomes only."""

    def outcome_review_id(self, obj) -> int | None:
        return obj.review_id

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        outcome_choices_narrow(form, self.outcome_review_id(obj) if obj is not None else None)
        return form


class ReviewScopedAdminMixin(ScopedForeignKeysMixin):
    """Every permission of a model admin comes from the policy, object by object."""

    publishing_fields: tuple[str, ...] = ()  # changed only by the approval service, read-only in every form

    def _allows(self, request, action: Action, obj=None) -> bool:
        if obj is None:
            return policy.allows_on_model(user=_user(request), action=action, model=self.model)
        return policy.allows(user=_user(request), action=action, obj=obj)

    def has_module_permission(self, request) -> bool:
        return _user(request).is_superuser or bool(policy.roles_by_review(user=_user(request)))

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allows(request, Action.VIEW, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.ADD)

    def has_change_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.CHANGE, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.DELETE, obj)

    def get_queryset(self, request):
        return policy.visible(user=_user(request), queryset=super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *self.publishing_fields]

    def get_list_filter(self, request):
        """A related filter offers only the values of rows the user sees (never another review's title)."""
        return [self._scoped_filter(item) for item in super().get_list_filter(request)]

    def _scoped_filter(self, item):
        if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation:
            return (item, RelatedOnlyFieldListFilter)
        return item

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} {object_id} that you may see.")

    def save_model(self, request, obj, form, change) -> None:
        if not self._allows(request, Action.CHANGE if change else Action.ADD, obj):
            raise PermissionDenied(f"You may not {'change' if change else 'add'} this {obj._meta.verbose_name}.")
        super().save_model(request, obj, form, change)

    def delete_queryset(self, request, queryset) -> None:
        allowed = policy.visible(user=_user(request), queryset=queryset, action=Action.DELETE)
        if allowed.count() != queryset.count():
            raise PermissionDenied("Some of the selected rows are not yours to delete.")
        super().delete_queryset(request, queryset)

    def _label(self) -> str:
        return self.model._meta.label_lower

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return audited(super().changeform_view, model=self._label())(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        return audited(super().changelist_view, model=self._label())(request, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return audited(super().delete_view, model=self._label())(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        return audited(self._history_view, model=self._label())(request, object_id, extra_context)

    def _history_view(self, request, object_id, extra_context=None):
        # django-simple-history falls back to a row's last historical copy when the row is not in the
        # queryset: for anyone but a superuser, a row they may not see has no history either.
        if not _user(request).is_superuser and self.get_object(request, unquote(object_id)) is None:
            raise Http404(f"No {self.model._meta.verbose_name} {object_id} that you may see.")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        view = audited(super().history_form_view, model=self._label())
        return view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        """History pages list changes in words: choice labels, yes/no, PRISMA reasons (evidence.core.history_labels)."""
        return LabelledHistoryContextHelper(self.model, historical_record)


class ReviewScopedInlineMixin(ScopedForeignKeysMixin):
    """An inline's rows belong to the parent's review: the policy is asked about the parent."""

    def _allows(self, request, action: Action, parent=None) -> bool:
        if parent is None:
            return policy.allows_on_model(user=_user(request), action=action, model=self.model)
        rule = policy.RULES[self.model]
        review_path = policy.RULES[type(parent)].review_path
        review_id = policy.review_id_in_memory(parent, review_path)
        return _user(request).is_superuser or review_id in policy.review_ids_allowing(
            user=_user(request), roles=rule.roles(action)
        )

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allows(request, Action.VIEW, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.ADD, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.CHANGE, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not getattr(self, "read_only", False) and self._allows(request, Action.DELETE, obj)


class ReadOnlyAdminMixin:
    """Immutable records (published versions, ledgers, decisions): viewable, never added, changed or deleted.

    ``read_only`` is read by the policy mixins, whichever comes first in the bases.
    """

    read_only = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
