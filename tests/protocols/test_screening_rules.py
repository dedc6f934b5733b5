"""The pure screening evaluation, for every question as absolute and as relative."""

from datetime import date, timedelta

import pytest

from protocols import screening
from protocols.screening import Rule, Severity, Status, evaluate

TODAY = date(2026, 11, 22)
CODES = [q.code for q in screening.QUESTIONS]


def run(answers, rules, *, taken_on=TODAY - timedelta(days=3), acknowledged=(), valid_days=90):
    return evaluate(
        answers=answers,
        rules=rules,
        taken_on=taken_on,
        today=TODAY,
        valid_days=valid_days,
        acknowledged_codes=acknowledged,
    )


@pytest.mark.parametrize("code", CODES)
def test_each_absolute_contraindication_blocks(code):
    result = run({code: True}, [Rule(code, Severity.ABSOLUTE)])
    assert result.status == Status.BLOCKED
    assert [r.code for r in result.blocking] == [code]
    assert not result.may_treat
    assert screening.QUESTION_BY_CODE[code].label in result.reasons[0]


@pytest.mark.parametrize("code", CODES)
def test_each_relative_contraindication_needs_acknowledgement_until_acknowledged(code):
    rules = [Rule(code, Severity.RELATIVE)]
    before = run({code: True}, rules)
    assert before.status == Status.NEEDS_ACKNOWLEDGEMENT
    assert [r.code for r in before.needs_acknowledgement] == [code]
    after = run({code: True}, rules, acknowledged={code})
    assert after.status == Status.CLEAR
    assert [r.code for r in after.acknowledged] == [code]


@pytest.mark.parametrize("code", CODES)
def test_a_no_answer_is_clear(code):
    assert run({code: False}, [Rule(code, Severity.ABSOLUTE)]).status == Status.CLEAR


def test_answers_not_on_the_protocol_list_do_not_count():
    assert (
        run({"smoker": True}, [Rule("platelet_disorder", Severity.ABSOLUTE)]).status == Status.CLEAR
    )


def test_absolute_wins_over_relative_and_lists_both():
    rules = [Rule("sepsis", Severity.ABSOLUTE), Rule("smoker", Severity.RELATIVE)]
    result = run({"sepsis": True, "smoker": True}, rules)
    assert result.status == Status.BLOCKED
    assert len(result.reasons) == 2


def test_acknowledging_an_absolute_contraindication_does_not_unblock():
    result = run({"sepsis": True}, [Rule("sepsis", Severity.ABSOLUTE)], acknowledged={"sepsis"})
    assert result.status == Status.BLOCKED


def test_missing_screening():
    result = evaluate(answers=None, rules=[], taken_on=None, today=TODAY, valid_days=90)
    assert result.status == Status.MISSING
    assert not result.may_treat


@pytest.mark.parametrize(("age_days", "expected"), [(90, Status.CLEAR), (91, Status.OUT_OF_DATE)])
def test_screening_validity_limit(age_days, expected):
    result = run({}, [], taken_on=TODAY - timedelta(days=age_days))
    assert result.status == expected
    if expected == Status.OUT_OF_DATE:
        assert "91 days ago" in result.reasons[0]


def test_unknown_question_code_is_a_programming_error():
    with pytest.raises(ValueError, match="Unknown screening question"):
        Rule("not_a_question", Severity.ABSOLUTE)


def test_default_prp_list_is_data_and_covers_the_issue_questions():
    rules = {r.code: r.severity for r in screening.load_rules()}
    assert rules["platelet_disorder"] == Severity.ABSOLUTE
    assert rules["site_infection"] == Severity.ABSOLUTE
    for code in (
        "anticoagulants",
        "nsaids_recent",
        "pregnant_or_breastfeeding",
        "cancer_or_chemo",
        "autoimmune_disease",
        "keloid_tendency",
        "anaesthetic_allergy",
        "isotretinoin_recent",
    ):
        assert rules[code] == Severity.RELATIVE
