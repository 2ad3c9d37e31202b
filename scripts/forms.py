"""The form of the script pages. Validation proper is in script_services; the form only
shapes the input and offers the choices."""

from django import forms

from executions.runners.base import get_runner
from scripts.models import Script, Visibility


def runtime_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {info.description}") for name, info in get_runner().runtimes().items()]


class ScriptForm(forms.Form):
    title = forms.CharField(max_length=Script._meta.get_field("title").max_length)
    source = forms.CharField(widget=forms.Textarea(attrs={"spellcheck": "false", "rows": 18}), strip=False)
    runtime = forms.ChoiceField(choices=runtime_choices)
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE)

    @classmethod
    def for_script(cls, script: Script, data=None) -> "ScriptForm":
        initial = {name: getattr(script, name) for name in ("title", "source", "runtime", "visibility")}
        return cls(data=data, initial=initial)
