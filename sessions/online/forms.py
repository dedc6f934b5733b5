"""Forms of the public booking site and of the manager's settings. They validate;
the services change things."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone

from mesoclinic.core import phones
from protocols import screening as questionnaire
from protocols.models import Protocol
from sessions.online.models import OnlineSettings
from sessions.scheduling.models import Location

# The questionnaire in the patient's own words (the codes are the staff questionnaire's).
PATIENT_WORDING = {
    "platelet_disorder": "Do you have a blood or platelet disorder, such as haemophilia?",
    "haemodynamic_instability": "Do you faint easily, or is your blood pressure not under control?",
    "sepsis": "Do you have a serious infection at the moment?",
    "site_infection": "Is there an infection, cold sore or skin flare where you want treatment?",
    "anticoagulants": "Do you take blood thinners (such as warfarin, apixaban or clopidogrel)?",
    "nsaids_recent": "Have you taken anti-inflammatories (ibuprofen, naproxen) in the last 7 days?",
    "aspirin_recent": "Have you taken aspirin in the last 10 days?",
    "systemic_steroids": "Have you had steroid tablets or injections in the last 2 weeks?",
    "steroid_injection_site": "Have you had a steroid injection where you want treatment, in the "
    "last month?",
    "recent_fever": "Have you had a fever or felt unwell recently?",
    "cancer_or_chemo": "Do you have cancer at the moment, or are you having chemotherapy?",
    "low_haemoglobin": "Have you been told you have anaemia (low haemoglobin)?",
    "low_platelets": "Have you been told your platelet count is low?",
    "pregnant_or_breastfeeding": "Are you pregnant or breastfeeding?",
    "uncontrolled_diabetes": "Do you have diabetes that is not well controlled?",
    "autoimmune_disease": "Do you have an autoimmune disease (such as lupus or rheumatoid "
    "arthritis)?",
    "keloid_tendency": "Do you tend to get raised or keloid scars?",
    "isotretinoin_recent": "Have you taken isotretinoin (Roaccutane) in the last 6 months?",
    "smoker": "Do you smoke or vape?",
    "anaesthetic_allergy": "Are you allergic to numbing (anaesthetic) creams?",
    "ingredient_allergy": "Are you allergic to hyaluronic acid, vitamins, amino acids or "
    "lidocaine?",
}
YES_NO = [("yes", "Yes"), ("no", "No")]
RADIO = {"class": "form-check-input"}
CHECK = forms.CheckboxInput(attrs={"class": "form-check-input"})


class TreatmentForm(forms.Form):
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        to_field_name="public_id",
        widget=forms.RadioSelect(attrs=RADIO),
        empty_label=None,
        label="Where",
    )
    treatment = forms.ChoiceField(
        widget=forms.RadioSelect(attrs=RADIO), label="What would you like to book?"
    )

    def __init__(self, *args, locations, protocols, consultation: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(
            pk__in=[loc.pk for loc in locations]
        )
        choices = [("consultation", "A consultation (30 minutes, to talk it through)")] * bool(
            consultation
        )
        choices += [
            (str(p.pk), f"{p.name}: a course of {p.sessions_in_course} sessions") for p in protocols
        ]
        self.fields["treatment"].choices = choices
        self.protocols = {str(p.pk): p for p in protocols}
        if len(locations) == 1:
            self.fields["location"].initial = locations[0].public_id


class ScreeningForm(forms.Form):
    """Every question yes or no, or "none of these apply to me" (never read as no)."""

    none_apply = forms.BooleanField(
        required=False,
        label="None of these apply to me (I answer no to every question)",
        widget=CHECK,
    )
    medications = forms.CharField(
        required=False,
        max_length=1000,
        label="Medicines you take (optional)",
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for q in questionnaire.QUESTIONS:
            self.fields[q.code] = forms.ChoiceField(
                choices=YES_NO,
                widget=forms.RadioSelect(attrs=RADIO),
                required=False,
                label=PATIENT_WORDING.get(q.code, q.label),
            )

    def question_fields(self):
        return [self[q.code] for q in questionnaire.QUESTIONS]

    def clean(self):
        data = super().clean()
        answers = {
            q.code: {"yes": True, "no": False}.get(data.get(q.code) or "")
            for q in questionnaire.QUESTIONS
        }
        problems = questionnaire.answer_problems(
            answers, none_apply=bool(data.get("none_apply")), answered_by="patient"
        )
        for field, messages in problems.items():
            if field == "__all__":
                raise forms.ValidationError(
                    "Please answer every question yes or no, or tick “None of these apply to me”."
                    if any("no answer" in m for m in messages)
                    else " ".join(messages)
                )
            self.add_error(field if field in self.fields else None, messages)
        data["answers"] = answers
        return data


class DetailsForm(forms.Form):
    first_name = forms.CharField(max_length=80, label="First name")
    last_name = forms.CharField(max_length=80, label="Last name")
    date_of_birth = forms.DateField(label="Date of birth")
    email = forms.EmailField(max_length=254, label="Email")
    phone = forms.CharField(max_length=30, label="Mobile phone")
    accept = forms.BooleanField(
        label="I have read and accept the cancellation, late-fee and deposit policy above",
        widget=CHECK,
        error_messages={"required": "Please read the policy and tick the box to accept it."},
    )
    # A field people never see: a bot that fills it in books nothing.
    website = forms.CharField(required=False, max_length=200, label="Leave this empty")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["date_of_birth"].widget.attrs["autocomplete"] = "bday"
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")
        self.fields["website"].widget.attrs.update(tabindex="-1", autocomplete="off")

    def clean_date_of_birth(self):
        dob = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if dob > today or dob.year < today.year - 120:
            raise forms.ValidationError("Enter your real date of birth.")
        return dob

    def clean_phone(self):
        try:
            return phones.normalize_phone(
                self.cleaned_data["phone"], default_region=settings.CLINIC_COUNTRY
            )
        except phones.InvalidPhoneNumber as exc:
            raise forms.ValidationError(str(exc)) from exc

    @property
    def is_bot(self) -> bool:
        return bool((self.data.get("website") or "").strip())


class ConsentSignForm(forms.Form):
    version_id = forms.IntegerField(widget=forms.HiddenInput)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)
    agreed = forms.BooleanField(
        required=False, label="I have read this consent and agree to the treatment", widget=CHECK
    )


class CountersignForm(forms.Form):
    practitioner_signature = forms.CharField(widget=forms.HiddenInput, required=False)
    identity_confirmed = forms.BooleanField(
        required=False,
        widget=CHECK,
        label="I checked who the patient is (photo ID or known to me) and they confirm they "
        "signed this on their phone",
    )


class SettingsForm(forms.ModelForm):
    protocols = forms.ModelMultipleChoiceField(
        queryset=Protocol.objects.bookable().order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Courses patients may book online",
    )
    locations = forms.ModelMultipleChoiceField(
        queryset=Location.objects.filter(is_active=True).order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Locations taking online bookings",
    )

    class Meta:
        model = OnlineSettings
        fields = [
            "enabled",
            "consultation_bookable",
            "consultation_minutes",
            "horizon_days",
            "min_notice_hours",
            "hold_minutes",
            "course_deposit",
            "deposit_instructions",
            "max_active_per_email",
        ]


class PolicyForm(forms.Form):
    text = forms.CharField(
        max_length=6000,
        label="Cancellation, late-fee and deposit policy shown before patients confirm",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
