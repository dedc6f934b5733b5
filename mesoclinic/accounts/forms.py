from django import forms
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator

from mesoclinic import roles

ROLE_CHOICES = [
    (roles.PRACTITIONER, "Practitioner"),
    (roles.FRONT_DESK, "Front desk"),
    (roles.MANAGER, "Manager"),
]


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code or "\x00" in code:
            raise forms.ValidationError("Type the code.")
        return code


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Type the 6 digits the app shows.")
        return code


class StaffEditForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(
        required=False, help_text="Needed to send a link to choose a password."
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class StaffCreateForm(StaffEditForm):
    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="What they type to sign in: letters, digits and @ . + - _ only.",
    )
    password_mode = forms.ChoiceField(
        label="Password",
        choices=[
            ("email", "Email them a link to choose their own password"),
            ("temporary", "Give them a temporary password now (they change it when signing in)"),
        ],
        widget=forms.RadioSelect,
        initial="email",
    )
    field_order = ["username", "first_name", "last_name", "email", "role", "password_mode"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("There is already an account with this username.")
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password_mode") == "email" and not cleaned.get("email"):
            self.add_error(
                "email", "Add an email address to send the link to, or choose a temporary password."
            )
        return cleaned
