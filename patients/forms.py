from datetime import date

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Fieldset, Layout, Row, Submit
from django import forms
from django.conf import settings
from django.utils import timezone

from mesoclinic.core import phones
from patients.models import ClinicalPhoto, Patient
from patients.selectors import possible_duplicates
from patients.services import PATIENT_FIELDS, PossibleDuplicate
from protocols import screening

OLDEST_BIRTH_DATE = date(1900, 1, 1)


class PatientForm(forms.ModelForm):
    """A patient's details. Registering (`check_duplicates=True`) also looks for patients
    who may be this one: `duplicates` lists them, and only then is the confirmation
    "this is a different person" asked for (the template shows it beside the list)."""

    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I have checked the patients listed: this is a different person"
    )

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "allergies": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, check_duplicates: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_duplicates = check_duplicates
        self.duplicates: list[Patient] = []
        if self.instance.pk and self.instance.phone:
            self.initial["phone"] = phones.display_phone(self.instance.phone)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Fieldset(
                "Who",
                Row(Column("first_name"), Column("last_name"), Column("preferred_name")),
                Row(Column("date_of_birth"), Column("sex"), Column("fitzpatrick_type")),
            ),
            Fieldset(
                "Contact",
                Row(Column("phone"), Column("email"), Column("preferred_channel")),
                Row(Column("address_line1"), Column("address_line2")),
                Row(Column("city"), Column("postcode")),
                Row(Column("consents_to_transactional"), Column("consents_to_marketing")),
            ),
            Fieldset("Clinical notes", "allergies", "notes"),
        )

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean_date_of_birth(self):
        dob = self.cleaned_data["date_of_birth"]
        if dob > timezone.localdate():
            raise forms.ValidationError("The date of birth cannot be in the future.")
        if dob < OLDEST_BIRTH_DATE:
            raise forms.ValidationError("Check the year: this date of birth is before 1900.")
        return dob

    def clean_phone(self):
        try:
            return phones.normalize_phone(
                self.cleaned_data.get("phone", ""), default_region=settings.CLINIC_COUNTRY
            )
        except phones.InvalidPhoneNumber as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean_email(self):
        return self.cleaned_data.get("email", "").strip().lower()

    def clean(self):
        cleaned = super().clean()
        channel = cleaned.get("preferred_channel")
        if channel == Patient.Channel.EMAIL and not cleaned.get("email"):
            self.add_error(
                "email", "An email address is needed when email is the preferred channel."
            )
        if channel in (Patient.Channel.SMS, Patient.Channel.PHONE) and not cleaned.get("phone"):
            self.add_error("phone", "A phone number is needed for this preferred channel.")
        if self.check_duplicates:
            self.duplicates = possible_duplicates(
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
                date_of_birth=cleaned.get("date_of_birth"),
                phone=cleaned.get("phone", ""),
                email=cleaned.get("email", ""),
            )
            if self.duplicates and not cleaned.get("confirm_not_duplicate"):
                self.add_error(None, PossibleDuplicate(self.duplicates).message)
        return cleaned


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Find a patient",
        widget=forms.TextInput(
            attrs={
                "placeholder": "Name, phone, email or date of birth",
                "autofocus": True,
                "type": "search",
            }
        ),
    )
    archived = forms.BooleanField(required=False, label="Include archived")


ANSWER_CHOICES = (("yes", "Yes"), ("no", "No"))


class ScreeningForm(forms.Form):
    """One yes/no per question (none pre-chosen), or "none of these apply"; and who
    answered. The rule itself is patients.screening.answer_problems, which the
    service applies again."""

    taken_on = forms.DateField(
        label="Taken on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    answered_by = forms.ChoiceField(
        label="Who answered",
        choices=[("", "Choose…"), *screening.RESPONDENTS],
        required=False,
    )
    answered_by_name = forms.CharField(
        label="Their name", max_length=120, required=False, help_text="If not the patient."
    )
    none_apply = forms.BooleanField(
        label="None of these apply: the patient answered no to every question",
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    current_medications = forms.CharField(
        label="Current medications",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    other_information = forms.CharField(
        label="Other conditions or concerns",
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["taken_on"].initial = timezone.localdate()
        for question in screening.QUESTIONS:
            self.fields[question.code] = forms.ChoiceField(
                label=question.label,
                help_text=question.hint,
                choices=ANSWER_CHOICES,
                required=False,
                widget=forms.RadioSelect,
            )
        self.helper = FormHelper()
        self.helper.form_tag = False

    def question_fields(self):
        return [self[q.code] for q in screening.QUESTIONS]

    def clean_taken_on(self):
        taken_on = self.cleaned_data["taken_on"]
        if taken_on > timezone.localdate():
            raise forms.ValidationError("A screening cannot be dated in the future.")
        return taken_on

    def clean(self):
        cleaned = super().clean()
        problems = screening.answer_problems(
            self.answers(),
            none_apply=bool(cleaned.get("none_apply")),
            answered_by=cleaned.get("answered_by") or "",
            answered_by_name=cleaned.get("answered_by_name") or "",
        )
        for field, messages in problems.items():
            for message in messages:
                self.add_error(None if field == "__all__" else field, message)
        return cleaned

    def answers(self) -> dict[str, bool | None]:
        """Each question's answer: True, False, or None when not answered."""
        data = getattr(self, "cleaned_data", {})
        values = {"yes": True, "no": False}
        return {q.code: values.get(data.get(q.code) or "") for q in screening.QUESTIONS}


class AcknowledgementForm(forms.Form):
    code = forms.ChoiceField(
        choices=[(q.code, q.label) for q in screening.QUESTIONS], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        min_length=5,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Why treatment can go ahead"}),
        label="Decision and reason",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(Submit("acknowledge", "Record decision"))


class PhotoForm(forms.Form):
    image = forms.FileField(
        label="Photo",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}
        ),
    )
    kind = forms.ChoiceField(choices=ClinicalPhoto.Kind.choices, initial=ClinicalPhoto.Kind.BEFORE)
    area = forms.CharField(max_length=60, help_text="e.g. crown, temples, forehead, left cheek")
    taken_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["taken_on"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_tag = False


# --- Signed consents


class ConsentSignForm(forms.Form):
    """Both signatures arrive as PNG data URIs from signature_pad; the service checks them."""

    version_id = forms.IntegerField(widget=forms.HiddenInput)
    patient_signature = forms.CharField(required=False, widget=forms.HiddenInput)
    practitioner_signature = forms.CharField(required=False, widget=forms.HiddenInput)
    patient_has_read = forms.BooleanField(
        label="The patient has read this consent and had their questions answered",
        error_messages={"required": "Confirm that the patient has read the consent."},
    )


class ConsentWithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="What the patient said",
        widget=forms.TextInput(attrs={"placeholder": "e.g. changed their mind, by phone"}),
    )
