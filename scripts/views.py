"""The pages of saved scripts. Thin: each one calls the same services and selectors as the
API (scripts/api.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from executions import selectors
from executions.caller import Caller
from executions.errors import AppError
from executions.views import page_number
from scripts import selectors as script_selectors
from scripts import services as script_services
from scripts.forms import ScriptForm

PAGE_SIZE = 20
SCRIPT_SAVED = "Saved “{title}”."
SCRIPT_DELETED = "Deleted “{title}”."
SCRIPT_FORKED = "Forked into your scripts as “{title}”."


def _script(request: HttpRequest, key: str):
    """The script, if the caller may see it; else ScriptNotFound: the site's 404 page."""
    return script_selectors.script_get_for(key=key, user=request.user)


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
@require_safe
def script_list(request: HttpRequest) -> HttpResponse:
    page = _page(request, script_selectors.script_list_owned(user=request.user))
    return render(request, "scripts/list.html", {"page": page, "mine": True})


@require_safe
def script_list_public(request: HttpRequest) -> HttpResponse:
    page = _page(request, script_selectors.script_list_public())
    return render(request, "scripts/list.html", {"page": page, "mine": False})


@login_required
def script_new(request: HttpRequest) -> HttpResponse:
    """GET, or POST with ``draft`` (the editor's "Save as script" button sends its buffer so):
    the form, filled with what was sent; POST: save it."""
    if request.method != "POST" or "draft" in request.POST:
        data = request.POST if request.method == "POST" else request.GET
        form = ScriptForm(initial={name: data.get(name, "") for name in ("title", "source", "runtime")})
        return render(request, "scripts/form.html", {"form": form})
    form = ScriptForm(data=request.POST)
    return _save(request, form, lambda data: script_services.script_create(owner=request.user, **data))


@login_required
def script_edit(request: HttpRequest, key: str) -> HttpResponse:
    script = _script(request, key)
    if not script_selectors.script_editable_by(script=script, user=request.user):
        raise PermissionDenied(script_services.NOT_OWNER)
    form = ScriptForm.for_script(script, data=request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return render(request, "scripts/form.html", {"form": form, "script": script})
    return _save(
        request,
        form,
        lambda data: script_services.script_update(script=script, user=request.user, **data),
        script=script,
    )


def _save(request: HttpRequest, form: ScriptForm, save, script=None) -> HttpResponse:
    if form.is_valid():
        try:
            saved = save(form.cleaned_data)
        except script_services.ScriptRejected as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, SCRIPT_SAVED.format(title=saved.title))
            return redirect("script_detail", key=saved.key)
    return render(request, "scripts/form.html", {"form": form, "script": script}, status=422)


@require_safe
def script_detail(request: HttpRequest, key: str) -> HttpResponse:
    return _render_detail(request, _script(request, key))


def _render_detail(request: HttpRequest, script, *, error: str = "", status: int = 200) -> HttpResponse:
    runs = selectors.execution_list_for(user=request.user, script_id=script.pk, page=page_number(request))
    context = {
        "script": script,
        "runs": runs,
        "error": error,
        "can_edit": script_selectors.script_editable_by(script=script, user=request.user),
    }
    return render(request, "scripts/detail.html", context, status=status)


@require_POST
def script_run(request: HttpRequest, key: str) -> HttpResponse:
    script = _script(request, key)
    try:
        execution, _ = script_services.script_run(
            script=script, caller=Caller.of_request(request), stdin=request.POST.get("stdin", "")
        )
    except AppError as exc:  # shown on the script's page, where the Run button is
        response = _render_detail(request, script, error=exc.message, status=exc.status)
        for name, value in exc.headers.items():
            response[name] = value
        return response
    return redirect("executions:detail", execution_id=execution.execution_id)


@login_required
@require_POST
def script_fork(request: HttpRequest, key: str) -> HttpResponse:
    fork = script_services.script_fork(script=_script(request, key), user=request.user)
    messages.success(request, SCRIPT_FORKED.format(title=fork.title))
    return redirect("script_detail", key=fork.key)


@login_required
def script_delete(request: HttpRequest, key: str) -> HttpResponse:
    script = _script(request, key)
    if not script_selectors.script_editable_by(script=script, user=request.user):
        raise PermissionDenied(script_services.NOT_OWNER)
    if request.method != "POST":
        return render(request, "scripts/confirm_delete.html", {"script": script})
    script_services.script_delete(script=script, user=request.user)
    messages.success(request, SCRIPT_DELETED.format(title=script.title))
    return redirect("script_list")
