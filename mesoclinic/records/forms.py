from django import forms
from django.contrib.auth import get_user_model

from mesoclinic.core import roles
from mesoclinic.records.models import ApiToken


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Integration name", help_text="e.g. Lab results portal, GP letters."
    )
    scope = forms.ChoiceField(choices=ApiToken.Scope.choices, label="May read")
    practitioner = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Practitioner (for a one-practitioner token)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = (
            get_user_model()
            .objects.filter(groups__name=roles.PRACTITIONER, is_active=True)
            .order_by("last_name", "first_name")
        )
        self.fields["practitioner"].label_from_instance = lambda u: u.get_full_name() or u.username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == ApiToken.Scope.PRACTITIONER and not cleaned.get("practitioner"):
            self.add_error("practitioner", "Choose the practitioner whose patients it may read.")
        return cleaned


class ErasureForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        label="How the request was made",
        help_text="e.g. Letter of 3 March; identity checked at the desk.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(
        label="I have checked the patient's identity and they asked to be erased. "
        "What is listed as erased now cannot be brought back.",
        error_messages={"required": "Tick the box to confirm the request."},
    )
