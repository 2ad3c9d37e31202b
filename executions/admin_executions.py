"""Executions in the Django admin: they live in MongoDB, so the admin's usual machinery
(querysets, change forms) does not apply. This ModelAdmin, registered for the table-less
:class:`~executions.models.ExecutionRecord`, puts its own list, detail, cancel and delete views
under the usual admin URLs and permissions; reads go through the selectors and writes
through the services, like everywhere else."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.views.decorators.http import require_POST

from executions import selectors, services
from executions.documents import Execution, Status
from executions.views import file_facts, format_limits

ANONYMOUS = "anonymous"
CANCELLED = "Execution {execution_id} cancelled."
DELETED = "Execution {execution_id} deleted."
NO_SUCH_USER = "No user {who!r}: nothing to show."


class ExecutionFilterForm(forms.Form):
    q = forms.CharField(
        required=False, label="Search", max_length=200, help_text="An execution id (or its start), or script text."
    )
    status = forms.ChoiceField(choices=[("", "Any status"), *((s, s) for s in Status.ALL)], required=False)
    user = forms.CharField(required=False, help_text=f"Username or email, or “{ANONYMOUS}”.")
    created_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def search_filters(self) -> dict:
        """Keyword arguments for :func:`selectors.executions_search` (form must be valid)."""
        data = self.cleaned_data
        filters = {"status": data["status"] or None, **_owner_filter(data["user"].strip())}
        if data["q"].strip():
            filters["text"] = data["q"].strip()
        if data["created_from"]:
            filters["created_from"] = _midnight(data["created_from"])
        if data["created_to"]:  # inclusive: up to the end of that day
            filters["created_to"] = _midnight(data["created_to"]) + timedelta(days=1)
        return filters


def _owner_filter(who: str) -> dict:
    if not who:
        return {}
    if who.lower() == ANONYMOUS:
        return {"anonymous_only": True}
    user = get_user_model().objects.filter(Q(username__iexact=who) | Q(email__iexact=who)).first()
    return {"owner_id": user.pk if user else -1}


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class ExecutionAdmin(admin.ModelAdmin):
    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("", view(self.list_view), name=f"{name}_changelist"),
            path("<str:execution_id>/", view(self.detail_view), name=f"{name}_change"),
            path("<str:execution_id>/cancel/", view(require_POST(self.cancel_view)), name=f"{name}_cancel"),
            path("<str:execution_id>/delete/", view(self.delete_execution_view), name=f"{name}_delete"),
        ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.cancel_{self.opts.model_name}")

    # --- views -------------------------------------------------------------------------

    def list_view(self, request):
        self._require(self.has_view_permission(request))
        form = ExecutionFilterForm(request.GET or None)
        filters = form.search_filters() if form.is_bound and form.is_valid() else {}
        if filters.get("owner_id") == -1:
            self.message_user(request, NO_SUCH_USER.format(who=form.cleaned_data["user"]), messages.WARNING)
        found = selectors.executions_search(**filters, page=_page_number(request))
        context = {
            "form": form,
            "page": found,
            "rows": _with_owners(found.items),
            "query": _query_without_page(request),
        }
        return self._render(request, "list", context, title="Executions")

    def detail_view(self, request, execution_id: str):
        self._require(self.has_view_permission(request))
        execution = self._get(execution_id)
        context = {
            "execution": execution,
            "limits": format_limits(execution.limits),
            "files": file_facts(execution),
            "owner": _owners([execution.owner_id]).get(execution.owner_id),
            "can_cancel": not execution.is_final and self.has_cancel_permission(request),
            "can_delete": self.has_delete_permission(request),
        }
        return self._render(request, "detail", context, title=f"Execution {execution_id}")

    def cancel_view(self, request, execution_id: str):
        self._require(self.has_cancel_permission(request))
        try:
            services.execution_cancel(execution=self._get(execution_id))
            self.message_user(request, CANCELLED.format(execution_id=execution_id))
        except services.AlreadyFinished as exc:
            self.message_user(request, str(exc), messages.WARNING)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", execution_id=execution_id)

    def delete_execution_view(self, request, execution_id: str):
        self._require(self.has_delete_permission(request))
        execution = self._get(execution_id)
        if request.method != "POST":
            return self._render(request, "delete", {"execution": execution}, title="Delete this execution?")
        services.execution_delete(execution=execution)
        self.message_user(request, DELETED.format(execution_id=execution_id))
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    # --- helpers -----------------------------------------------------------------------

    def _get(self, execution_id: str) -> Execution:
        if not selectors.EXECUTION_ID_RE.match(execution_id):
            raise Http404(selectors.EXECUTION_NOT_FOUND.format(execution_id=execution_id[:64]))
        execution = Execution.objects(execution_id=execution_id).first()
        if execution is None:
            raise Http404(selectors.EXECUTION_NOT_FOUND.format(execution_id=execution_id))
        return execution

    def _require(self, allowed: bool) -> None:
        if not allowed:
            raise PermissionDenied

    def _render(self, request, page: str, context: dict, *, title: str):
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": title, **context}
        return TemplateResponse(request, f"admin/executions/executionrecord/{page}.html", context)


def _owners(owner_ids) -> dict:
    ids = {i for i in owner_ids if i is not None}
    return get_user_model().objects.in_bulk(ids) if ids else {}


def _with_owners(executions: list) -> list:
    owners = _owners(e.owner_id for e in executions)
    return [(execution, owners.get(execution.owner_id)) for execution in executions]


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("p", 1)))
    except ValueError:
        return 1


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("p", None)
    return query.urlencode()
