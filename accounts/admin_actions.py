"""Admin actions that need a reason first (a ban, hiding a script): an intermediate page
with one field, then the service is applied to each selected object."""

from django import forms
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

REASON_REQUIRED = "Give a reason; it is recorded and shown to the person affected."


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), error_messages={"required": REASON_REQUIRED}
    )


def action_with_reason(modeladmin, request, queryset, *, title: str, apply):
    """Show the reason form, or (once submitted) call ``apply(queryset, reason)`` and return
    None, so the admin goes back to the list."""
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if form.is_valid():
        apply(queryset, form.cleaned_data["reason"])
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "objects": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_with_reason.html", context)
