"""Contraindication screening: the questionnaire and its evaluation.

Pure: no ORM, no clock. The questions are the fixed vocabulary every protocol's
contraindication list refers to by code; which answers block treatment and which
need a practitioner's acknowledgement is data (a protocol's list, or the default
PRP list in protocols/data/), passed in as rules. The protocols app owns them; the
patients app records a patient's answers (patients.models.Screening) and evaluates
them with these rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path


@dataclass(frozen=True)
class Question:
    code: str
    label: str
    hint: str = ""


QUESTIONS: tuple[Question, ...] = (
    Question(
        "platelet_disorder",
        "Blood or platelet disorder",
        "Platelet dysfunction, very low platelets, haemophilia or another clotting disorder.",
    ),
    Question(
        "haemodynamic_instability",
        "Unstable blood pressure or circulation",
        "Fainting, uncontrolled blood pressure.",
    ),
    Question("sepsis", "Current serious infection (sepsis)"),
    Question(
        "site_infection",
        "Active infection or skin disease at the treatment site",
        "Cold sores, impetigo, active acne cysts, eczema or psoriasis flare where we treat.",
    ),
    Question(
        "anticoagulants",
        "Takes blood thinners",
        "Warfarin, apixaban, rivaroxaban, clopidogrel, heparin.",
    ),
    Question(
        "nsaids_recent",
        "Anti-inflammatories in the last 7 days",
        "Ibuprofen, naproxen, diclofenac.",
    ),
    Question("aspirin_recent", "Aspirin in the last 10 days"),
    Question("systemic_steroids", "Steroid tablets or injections in the last 2 weeks"),
    Question("steroid_injection_site", "Steroid injection at the treatment site in the last month"),
    Question("recent_fever", "Fever or feeling unwell recently"),
    Question(
        "cancer_or_chemo", "Active cancer or chemotherapy", "Especially blood or bone cancers."
    ),
    Question("low_haemoglobin", "Known low haemoglobin (anaemia, below 10 g/dL)"),
    Question("low_platelets", "Known low platelet count (below 100,000/µL)"),
    Question("pregnant_or_breastfeeding", "Pregnant or breastfeeding"),
    Question("uncontrolled_diabetes", "Diabetes that is not well controlled"),
    Question(
        "autoimmune_disease", "Autoimmune disease", "Lupus, rheumatoid arthritis, scleroderma."
    ),
    Question("keloid_tendency", "Tendency to keloid or raised scars"),
    Question("isotretinoin_recent", "Isotretinoin (Roaccutane) in the last 6 months"),
    Question("smoker", "Smokes or vapes"),
    Question("anaesthetic_allergy", "Allergy to numbing (anaesthetic) creams"),
    Question(
        "ingredient_allergy",
        "Allergy to a mesotherapy ingredient",
        "Hyaluronic acid, vitamins, amino acids, lidocaine.",
    ),
)
QUESTION_BY_CODE: dict[str, Question] = {q.code: q for q in QUESTIONS}

# Who gave the answers. Anyone but the patient answering for themselves is named.
RESPONDENTS: tuple[tuple[str, str], ...] = (
    ("patient", "The patient"),
    ("interpreter", "The patient, through an interpreter"),
    ("guardian", "A parent or guardian"),
    ("carer", "A carer or relative"),
)
RESPONDENT_LABELS = dict(RESPONDENTS)
NAMED_RESPONDENTS = frozenset(code for code, _ in RESPONDENTS if code != "patient")


def answer_problems(
    answers: Mapping[str, bool | None],
    *,
    none_apply: bool,
    answered_by: str,
    answered_by_name: str = "",
) -> dict[str, list[str]]:
    """What stops these answers from being recorded as a screening; empty when nothing.

    A screening is explicit: every question is answered yes or no (None: not answered),
    or the patient confirms that none of them applies, and then none may be a yes. An
    unanswered question is never taken for a no. It also says who answered: the
    patient, or someone named on their behalf. Keys are question codes, "none_apply",
    "answered_by", "answered_by_name", or "__all__" for the questionnaire as a whole.
    """
    problems: dict[str, list[str]] = {}
    unknown = sorted(set(answers) - set(QUESTION_BY_CODE))
    if unknown:
        problems["__all__"] = [f"Unknown screening questions: {', '.join(unknown)}."]
    if none_apply:
        yes = [q.label for q in QUESTIONS if answers.get(q.code) is True]
        if yes:
            problems["none_apply"] = [
                "“None of these apply” is ticked, but the answer to "
                f"{', '.join(yes)} is yes. Untick it, or correct the answer."
            ]
    else:
        unanswered = [q for q in QUESTIONS if answers.get(q.code) is None]
        for question in unanswered:
            problems[question.code] = ["Answer yes or no."]
        if unanswered:
            count = len(unanswered)
            problems.setdefault("__all__", []).append(
                f"{count} question{'s have' if count > 1 else ' has'} no answer. Ask each "
                "one and record yes or no, or tick “None of these apply” if the patient "
                "said no to all of them."
            )
    if answered_by not in RESPONDENT_LABELS:
        problems["answered_by"] = ["Say who answered the questions."]
    elif answered_by in NAMED_RESPONDENTS and not answered_by_name.strip():
        problems["answered_by_name"] = [
            f"Give the name of the person who answered ({RESPONDENT_LABELS[answered_by].lower()})."
        ]
    return problems


def recorded_answers(answers: Mapping[str, bool | None], *, none_apply: bool) -> dict[str, bool]:
    """The stored answer to every question, once `answer_problems` found nothing."""
    return {q.code: bool(answers.get(q.code)) and not none_apply for q in QUESTIONS}


class Severity(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Status(StrEnum):
    MISSING = "missing"
    OUT_OF_DATE = "out_of_date"
    BLOCKED = "blocked"
    NEEDS_ACKNOWLEDGEMENT = "needs_acknowledgement"
    CLEAR = "clear"


STATUS_LABELS = {
    Status.MISSING: "No screening on file",
    Status.OUT_OF_DATE: "Screening out of date",
    Status.BLOCKED: "Treatment blocked",
    Status.NEEDS_ACKNOWLEDGEMENT: "Needs practitioner acknowledgement",
    Status.CLEAR: "Clear to treat",
}


@dataclass(frozen=True)
class Rule:
    """One contraindication: a questionnaire code and how serious a yes is."""

    code: str
    severity: Severity
    note: str = ""

    def __post_init__(self) -> None:
        if self.code not in QUESTION_BY_CODE:
            raise ValueError(f"Unknown screening question {self.code!r}")
        object.__setattr__(self, "severity", Severity(self.severity))

    @property
    def label(self) -> str:
        return QUESTION_BY_CODE[self.code].label


@dataclass(frozen=True)
class Evaluation:
    status: Status
    blocking: tuple[Rule, ...] = ()
    needs_acknowledgement: tuple[Rule, ...] = ()
    acknowledged: tuple[Rule, ...] = ()
    reasons: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def may_treat(self) -> bool:
        return self.status == Status.CLEAR

    @property
    def stands_in_the_way(self) -> bool:
        """The answers on file block this protocol or await a practitioner's decision:
        booking it anyway needs an explicit acknowledgement (a missing or stale
        screening is simply taken again at the first visit)."""
        return self.status in (Status.BLOCKED, Status.NEEDS_ACKNOWLEDGEMENT)


# What someone who may not read the answers is told instead of the reasons.
STATUS_ONLY_REASONS = {
    Status.BLOCKED: "The screening does not allow treatment as it stands: "
    "a practitioner must review it with the patient.",
    Status.NEEDS_ACKNOWLEDGEMENT: "A practitioner must review the screening "
    "and record a decision before treatment.",
}


def status_only(evaluation: Evaluation) -> Evaluation:
    """The evaluation without the answers behind it: its status and what happens next.

    For people who book by the status but may not read the clinical answers (front
    desk). Missing and out-of-date reasons name only dates, so they are kept.
    """
    reasons = evaluation.reasons
    if evaluation.status in STATUS_ONLY_REASONS:
        reasons = (STATUS_ONLY_REASONS[evaluation.status],)
    return Evaluation(evaluation.status, reasons=reasons)


def evaluate(
    *,
    answers: Mapping[str, bool] | None,
    rules: Iterable[Rule],
    taken_on: date | None,
    today: date,
    valid_days: int,
    acknowledged_codes: Iterable[str] = (),
) -> Evaluation:
    """Can this patient be treated today under these rules?

    An absolute contraindication blocks; a relative one blocks until a
    practitioner acknowledges it; a missing or stale screening blocks until it
    is taken again. Reasons are written for the person at the desk.
    """
    if answers is None or taken_on is None:
        return Evaluation(
            Status.MISSING, reasons=("No screening questionnaire has been recorded.",)
        )
    age = (today - taken_on).days
    if age > valid_days:
        return Evaluation(
            Status.OUT_OF_DATE,
            reasons=(
                f"The last screening was {age} days ago, on {taken_on:%d %b %Y}; "
                f"the clinic asks for one every {valid_days} days.",
            ),
        )
    acknowledged_codes = frozenset(acknowledged_codes)
    present = [rule for rule in rules if answers.get(rule.code)]
    blocking = tuple(r for r in present if r.severity == Severity.ABSOLUTE)
    relative = [r for r in present if r.severity == Severity.RELATIVE]
    needs_ack = tuple(r for r in relative if r.code not in acknowledged_codes)
    acknowledged = tuple(r for r in relative if r.code in acknowledged_codes)
    reasons = tuple(f"{r.label}: treatment must not go ahead." for r in blocking) + tuple(
        f"{r.label}: the practitioner must review and record a decision." for r in needs_ack
    )
    if blocking:
        status = Status.BLOCKED
    elif needs_ack:
        status = Status.NEEDS_ACKNOWLEDGEMENT
    else:
        status = Status.CLEAR
    return Evaluation(status, blocking, needs_ack, acknowledged, reasons)


DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "default_prp_contraindications.json"


def load_rules(path: Path = DEFAULT_RULES_FILE) -> tuple[Rule, ...]:
    """The default PRP contraindication list, kept as data beside the code."""
    with path.open(encoding="utf-8") as fh:
        rows = json.load(fh)
    return tuple(Rule(row["code"], Severity(row["severity"]), row.get("note", "")) for row in rows)
