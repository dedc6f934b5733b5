from crispy_forms.helper import FormHelper
from django import forms

from protocols import areas
from protocols.models import CareInstruction, Protocol, ProtocolContraindication
from protocols.rules import SPIN_G_MAX, SPIN_G_MIN, SPIN_MINUTES_MAX, SPIN_MINUTES_MIN
from protocols.screening import QUESTIONS
from protocols.services import PROTOCOL_FIELDS, CareItem, ProtocolParts


class ProtocolForm(forms.ModelForm):
    treatment_areas = forms.MultipleChoiceField(
        choices=areas.ZONE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Protocol
        fields = PROTOCOL_FIELDS
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("description", "evidence_note", "risks", "what_is_normal", "warning_signs")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class SpinForm(forms.Form):
    g_force = forms.IntegerField(label="Force (g)", min_value=SPIN_G_MIN, max_value=SPIN_G_MAX)
    minutes = forms.IntegerField(min_value=SPIN_MINUTES_MIN, max_value=SPIN_MINUTES_MAX)


class IngredientForm(forms.Form):
    name = forms.CharField(max_length=120, label="Ingredient")
    amount = forms.CharField(max_length=60, required=False)


class CareForm(forms.Form):
    text = forms.CharField(max_length=300, label="Instruction")
    duration_value = forms.IntegerField(min_value=1, max_value=365, required=False, label="For")
    duration_unit = forms.ChoiceField(
        choices=[("", "—"), *CareInstruction.Unit.choices], required=False, label="Unit"
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("duration_value") and not cleaned.get("duration_unit"):
            self.add_error("duration_unit", "Hours or days?")
        if cleaned.get("duration_unit") and not cleaned.get("duration_value"):
            self.add_error("duration_value", "How many?")
        return cleaned


def _formset(form, extra):
    return forms.formset_factory(form, extra=extra, can_delete=True)


SpinFormSet = _formset(SpinForm, 1)
IngredientFormSet = _formset(IngredientForm, 1)
CareFormSet = _formset(CareForm, 2)


class ContraindicationsForm(forms.Form):
    """One row per screening question: does it matter for this protocol, and how much?"""

    CHOICES = [("", "Not relevant"), *ProtocolContraindication.Severity.choices]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for question in QUESTIONS:
            self.fields[question.code] = forms.ChoiceField(
                label=question.label, choices=self.CHOICES, required=False
            )

    def rules(self) -> dict[str, str]:
        return {code: value for code, value in self.cleaned_data.items() if value}


class ProtocolEditor:
    """The protocol form and its attached parts, validated together."""

    def __init__(
        self, data=None, *, protocol: Protocol | None = None, parts: ProtocolParts | None = None
    ):
        parts = parts or ProtocolParts()
        self.form = ProtocolForm(data, instance=protocol)
        self.spins = SpinFormSet(
            data, prefix="spin", initial=[{"g_force": g, "minutes": m} for g, m in parts.spins]
        )
        self.ingredients = IngredientFormSet(
            data,
            prefix="ingredient",
            initial=[{"name": n, "amount": a} for n, a in parts.ingredients],
        )
        self.contraindications = ContraindicationsForm(
            data, initial=parts.contraindications, prefix="ci"
        )
        self.pre_care = CareFormSet(data, prefix="pre", initial=[vars(c) for c in parts.pre_care])
        self.aftercare = CareFormSet(
            data, prefix="after", initial=[vars(c) for c in parts.aftercare]
        )

    def all_forms(self):
        return [
            self.form,
            self.spins,
            self.ingredients,
            self.contraindications,
            self.pre_care,
            self.aftercare,
        ]

    def is_valid(self) -> bool:
        # A list, not a generator: validate every form so each shows its own errors.
        return all([f.is_valid() for f in self.all_forms()])  # noqa: C419

    @staticmethod
    def _rows(formset):
        return [
            f.cleaned_data
            for f in formset.forms
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and any(v not in (None, "") for k, v in f.cleaned_data.items() if k != "DELETE")
        ]

    def parts(self) -> ProtocolParts:
        def care(rows):
            return [
                CareItem(r["text"], r.get("duration_value"), r.get("duration_unit") or "")
                for r in rows
            ]

        return ProtocolParts(
            spins=[(r["g_force"], r["minutes"]) for r in self._rows(self.spins)],
            ingredients=[(r["name"], r.get("amount", "")) for r in self._rows(self.ingredients)],
            contraindications=self.contraindications.rules(),
            pre_care=care(self._rows(self.pre_care)),
            aftercare=care(self._rows(self.aftercare)),
        )

    def add_errors(self, error) -> None:
        """Put a service's refusal next to the right field, or at the top."""
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                field = None if name == "__all__" or name not in self.form.fields else name
                for message in messages:
                    self.form.add_error(field, message)
        else:
            for message in error.messages:
                self.form.add_error(None, message)


class ConsentForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}), max_length=20000, label="Consent text"
    )
