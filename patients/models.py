import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from protocols import screening as questionnaire


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        NOT_STATED = "not_stated", "Prefer not to say"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message"
        PHONE = "phone", "Phone call"

    class Fitzpatrick(models.IntegerChoices):
        I = 1, "I — always burns, never tans"  # noqa: E741
        II = 2, "II — usually burns, tans minimally"
        III = 3, "III — sometimes burns, tans uniformly"
        IV = 4, "IV — burns minimally, always tans well"
        V = 5, "V — very rarely burns, tans very easily"
        VI = 6, "VI — never burns"

    # URLs carry this random id, never the sequential primary key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=12, choices=Sex.choices, default=Sex.NOT_STATED)
    phone = models.CharField(max_length=20, blank=True, help_text="Stored in E.164 form.")
    email = models.EmailField(max_length=254, blank=True)
    address_line1 = models.CharField("address", max_length=120, blank=True)
    address_line2 = models.CharField("address (line 2)", max_length=120, blank=True)
    city = models.CharField(max_length=80, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    preferred_channel = models.CharField(
        max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    consents_to_transactional = models.BooleanField(
        "agrees to appointment and care messages", default=True
    )
    consents_to_marketing = models.BooleanField("agrees to marketing messages", default=False)
    fitzpatrick_type = models.PositiveSmallIntegerField(
        choices=Fitzpatrick.choices, null=True, blank=True
    )
    allergies = models.TextField(max_length=2000, blank=True)
    notes = models.TextField(max_length=4000, blank=True)
    # Lower-cased "first last preferred", kept for typo-tolerant trigram search.
    search_name = models.CharField(max_length=250, editable=False, default="")
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            # A 256-byte trigram signature (the default is 12): the nearest-first walk
            # of the name search visits far fewer pages (tier M 15 -> 5 ms, tier L
            # 57 -> 19 ms; docs/decisions.md L12).
            GistIndex(
                fields=["search_name"],
                name="patient_search_name_sig256",
                opclasses=["gist_trgm_ops(siglen=256)"],
            ),
            GinIndex(fields=["phone"], name="patient_phone_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(Lower("email"), name="patient_email_lower"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["last_name", "first_name"], name="patient_name"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        self.search_name = self.build_search_name(
            self.first_name, self.last_name, self.preferred_name
        )
        super().save(*args, **kwargs)

    @staticmethod
    def build_search_name(first_name: str, last_name: str, preferred_name: str = "") -> str:
        parts = [first_name, last_name]
        if preferred_name and preferred_name.lower() != first_name.lower():
            parts.append(preferred_name)
        return " ".join(p.strip() for p in parts if p.strip()).lower()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}{self.last_name[:1]}".upper()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    def age_on(self, day) -> int:
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


SOURCES = (("staff", "Recorded by staff"), ("online", "Self-reported online"))


class Screening(models.Model):
    """One contraindication questionnaire, answered on one day.

    `source` "online": the patient answered it themselves while booking online; a
    practitioner confirms it with them at the visit (the staleness rules are the same).

    Each question of protocols.screening.QUESTIONS is a boolean column of the same
    name, so protocols can refer to them by code and reports can filter on them.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="screenings")
    taken_on = models.DateField()
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    # Empty for answers the patient gave themselves online (source "online").
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    source = models.CharField(max_length=8, choices=SOURCES, default="staff")
    # Who gave the answers (blank on screenings recorded before this was asked), and
    # whether they confirmed that none of the questions applies instead of one by one.
    answered_by = models.CharField(
        "who answered", max_length=12, choices=questionnaire.RESPONDENTS, blank=True
    )
    answered_by_name = models.CharField("name of who answered", max_length=120, blank=True)
    none_apply = models.BooleanField("confirmed that none of these apply", default=False)
    current_medications = models.TextField(max_length=2000, blank=True)
    other_information = models.TextField(
        "other conditions or concerns", max_length=4000, blank=True
    )

    class Meta:
        ordering = ["-taken_on", "-recorded_at"]
        indexes = [
            models.Index(fields=["patient", "-taken_on", "-recorded_at"], name="screening_latest")
        ]

    def __str__(self) -> str:
        return f"Screening of {self.patient} on {self.taken_on}"

    def answers(self) -> dict[str, bool]:
        return {q.code: getattr(self, q.code) for q in questionnaire.QUESTIONS}

    def positive_answers(self) -> list[questionnaire.Question]:
        return [q for q in questionnaire.QUESTIONS if getattr(self, q.code)]

    @property
    def self_reported_online(self) -> bool:
        return self.source == "online"

    @property
    def answered_by_text(self) -> str:
        """ "the patient", "a parent or guardian (Ann Lee)"; empty when not recorded."""
        if not self.answered_by:
            return ""
        text = self.get_answered_by_display()
        text = text[:1].lower() + text[1:]
        return f"{text} ({self.answered_by_name})" if self.answered_by_name else text


for _question in questionnaire.QUESTIONS:
    Screening.add_to_class(
        _question.code,
        models.BooleanField(_question.label, default=False, help_text=_question.hint),
    )


class ScreeningAcknowledgement(models.Model):
    """A practitioner's recorded decision to treat despite a relative contraindication."""

    screening = models.ForeignKey(
        Screening, on_delete=models.PROTECT, related_name="acknowledgements"
    )
    code = models.CharField(
        max_length=40, choices=[(q.code, q.label) for q in questionnaire.QUESTIONS]
    )
    reason = models.TextField(max_length=2000)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["screening", "code"], name="one_ack_per_finding"),
            models.CheckConstraint(condition=~models.Q(reason=""), name="ack_needs_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_code_display()} acknowledged by {self.acknowledged_by}"


def _photo_path(instance: "ClinicalPhoto", filename: str) -> str:
    return f"photos/{instance.patient.public_id}/{instance.public_id}.jpg"


class ClinicalPhoto(models.Model):
    """A before/after photo. Stored re-encoded without metadata, in private storage."""

    class Kind(models.TextChoices):
        BEFORE = "before", "Before"
        AFTER = "after", "After"
        PROGRESS = "progress", "Progress"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photos")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    area = models.CharField(max_length=60, help_text="Treatment area, e.g. crown, forehead.")
    taken_on = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    image = models.FileField(upload_to=_photo_path, max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["taken_on", "uploaded_at"]
        indexes = [models.Index(fields=["patient", "area", "taken_on"], name="photo_patient_area")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} photo of {self.area} ({self.taken_on})"


# --- Signed consents


def _consent_pdf_path(instance: "SignedConsent", filename: str) -> str:
    return f"consents/{instance.patient.public_id}/{instance.public_id}.pdf"


class SignedConsent(models.Model):
    """A patient's signature on one consent version, countersigned by a practitioner.

    Immutable once saved: a database trigger (migration 0004) refuses any UPDATE
    except filling the PDF in once, and refuses DELETE. Withdrawal is its own row
    (`ConsentWithdrawal`), so the signed record itself never changes.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="signed_consents")
    protocol = models.ForeignKey(
        "protocols.Protocol", on_delete=models.PROTECT, related_name="signed_consents"
    )
    consent_version = models.ForeignKey(
        "protocols.ConsentVersion", on_delete=models.PROTECT, related_name="signatures"
    )
    # Exactly what the patient read (placeholders filled in), and its SHA-256.
    text = models.TextField(max_length=40000)
    text_sha256 = models.CharField(max_length=64)
    patient_signature_png = models.BinaryField()
    patient_signature_sha256 = models.CharField(max_length=64)
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    practitioner_signature_png = models.BinaryField()
    practitioner_signature_sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    # When the patient signed on their own phone (online booking); the practitioner
    # countersigned at `signed_at` after confirming who they were.
    patient_signed_remotely_at = models.DateTimeField(null=True, blank=True)
    pdf = models.FileField(upload_to=_consent_pdf_path, max_length=200, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-signed_at"]
        indexes = [
            models.Index(fields=["patient", "protocol", "-signed_at"], name="consent_patient_proto")
        ]

    def __str__(self) -> str:
        return f"Consent of {self.patient} to {self.protocol} v{self.consent_version_id}"

    def save(self, *args, **kwargs):
        # Signed records are written once; the database trigger is the final word.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("A signed consent cannot be changed. Withdraw it and sign again.")
        super().save(*args, **kwargs)

    @property
    def is_withdrawn(self) -> bool:
        return hasattr(self, "withdrawal")


class ConsentWithdrawal(models.Model):
    """The patient withdrew a signed consent: no further sessions until they sign again."""

    signed_consent = models.OneToOneField(
        SignedConsent, on_delete=models.PROTECT, related_name="withdrawal"
    )
    withdrawn_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-withdrawn_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="consent_withdrawal_has_reason"
            )
        ]

    def __str__(self) -> str:
        return f"Withdrawal of {self.signed_consent}"
