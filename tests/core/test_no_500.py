"""Bad input never gets a 500: walk every URL pattern as every role with garbage.

House rule: bad input gets a clear message on the form or a 4xx, never a 500, and
changes nothing. For each role (and anonymous) this walks every URL of the project
(the same walk and sample objects as test_permissions.py) and sends:

- GETs with garbage query strings, one parameter at a time for the parameters a view
  reads (its source, the GET forms on its page, the forms it binds) and all at once
  for common ones;
- POSTs: empty, every field garbage at once (one request per kind of garbage), the
  forms found on the role's pages as rendered, and those forms with one field at a
  time replaced by a value of the wrong type or out of range; with HX-Request for
  htmx endpoints;
- the URL's keywords replaced by random UUIDs, missing ids, another object's id and
  malformed, tampered, expired or wrong-action tokens.

Every request runs in a savepoint that is rolled back, so each sees the same sample
objects. All failures are collected and reported together.
"""

from __future__ import annotations

import datetime
import inspect
import re
import traceback
import uuid
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import time_machine
from django import forms as django_forms
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mesoclinic.core import roles
from tests.core.test_permissions import all_patterns, drain, sample_kwargs  # noqa: F401

ROLES = {
    "manager": roles.MANAGER,
    "practitioner": roles.PRACTITIONER,
    "front desk": roles.FRONT_DESK,
    "anonymous": None,
}

LONG = "x" * 10_000
NUL = "a\x00b"
HUGE_INT = "99999999999999999999"


def random_uuid() -> str:
    return str(uuid.uuid4())


# Garbage for one GET parameter at a time (the lighter pass uses the first few).
QUERY_VALUES = ["abc", "2026-13-45", "\x00", HUGE_INT, "-1", "9999-12-31", "0001-01-01"]
QUERY_VALUES_SHALLOW = QUERY_VALUES[:4]
# Parameters many pages read, garbage all at once on every URL.
COMMON_QUERY_SETS = [
    {
        "page": "abc",
        "start": "notadate",
        "end": "2026-13-45",
        "date": "9999-99-99",
        "q": "\x00",
        "location": random_uuid(),
        "practitioner": "xyz",
        "view": "bogus",
        "by": "bogus",
        "show": "bogus",
        "report": "bogus",
        "status": "bogus",
        "kind": "bogus",
    },
    {
        "page": "-1",
        "start": "9999-12-31T23:59",
        "end": "0001-01-01",
        "day": "0001-01-01",
        "q": LONG,
        "patient": "abc",
        "protocol": HUGE_INT,
        "room": "-1",
        "first_day": "9999-12-31",
        "moved_from": "x\x00",
    },
    {
        "page": "1e309",
        "date": "9999-12-31",
        "start": "2026-01-01T10:00",
        "end": "2025-01-01T10:00",
        "location": "abc",
        "practitioner": HUGE_INT,
        "download": "1",
        "next": "//evil.example/",
    },
]

# One value per kind of garbage, for "every field at once" POSTs.
ALL_FIELDS_VALUES = ["abc", "-1", NUL, "", HUGE_INT, "9999-12-31", LONG]
ALL_FIELDS_SHALLOW = ALL_FIELDS_VALUES[:3]
# Names many POST views read besides their forms.
COMMON_POST = ["next", "action", "status", "reason", "choose", "option", "restore", "active"]

# Wrong-type or out-of-range values for one field at a time, by field type.
FIELD_VALUES = {
    "date": ["9999-12-31", "0001-01-01", "2026-13-45"],
    "time": ["25:99", "23:59:59.999999"],
    "datetime": ["9999-12-31T23:59", "0001-01-01T00:00"],
    "number": [HUGE_INT, "-1", "1e309"],
    "select": [random_uuid(), HUGE_INT],
    "checkbox": ["abc"],
    "hidden": ["abc", HUGE_INT, random_uuid()],
    "text": [LONG],
    "signature": ["data:image/png;base64,AAAA", "data:image/png;base64,!!!"],
    "file": ["<not an image>", "<empty file>"],
}
# Fields mutated one at a time per group (same prefix, same type): 20 screening
# questions of one kind stand for each other.
PER_GROUP = 2
BIG_FORM = 40


# --- Reading the forms and htmx attributes on a page -----------------------------------


class PageForms(HTMLParser):
    """Every <form> on a page with its fields as rendered, and htmx target URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.htmx_urls: set[str] = set()
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        # htmx reads its attributes with or without the data- prefix (valid HTML uses it).
        a = {(k[5:] if k.startswith("data-hx-") else k): (v or "") for k, v in attrs}
        for key in ("hx-post", "hx-get", "hx-put", "hx-patch", "hx-delete"):
            if a.get(key):
                self.htmx_urls.add(a[key])
        if tag == "form":
            self._form = {
                "method": a.get("method", "get").lower(),
                "action": a.get("action", ""),
                "htmx": any(k.startswith("hx-") for k in a),
                "fields": [],
            }
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                self._form["fields"].append((name, "submit", a.get("value", ""), True))
            elif kind in ("checkbox", "radio"):
                self._form["fields"].append(
                    (name, "checkbox", a.get("value", "on"), "checked" in a)
                )
            else:
                self._form["fields"].append((name, kind, a.get("value", ""), True))
        elif tag == "button" and name:
            self._form["fields"].append((name, "submit", a.get("value", ""), True))
        elif tag == "select" and name:
            self._select = {"name": name, "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None and value:
                self._select["first"] = value
            if "selected" in a:
                self._select["selected"] = value
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            s = self._select
            value = s["selected"] if s["selected"] is not None else (s["first"] or "")
            if self._form is not None:
                self._form["fields"].append((s["name"], "select", value, True))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form["fields"].append(
                    (self._textarea[0], "textarea", self._textarea[1], True)
                )
            self._textarea = None


def page_forms(html: str, page_path: str) -> tuple[list[dict], set[str]]:
    parser = PageForms()
    try:
        parser.feed(html)
    except Exception:  # a page we cannot parse just contributes no forms
        return [], set()
    for form in parser.forms:
        form["path"] = urlsplit(urljoin(page_path, form["action"] or page_path)).path
    htmx = {urlsplit(urljoin(page_path, u)).path for u in parser.htmx_urls}
    return parser.forms, htmx


def field_type(name: str, html_type: str) -> str:
    if "signature" in name:
        return "signature"
    return {
        "date": "date",
        "time": "time",
        "datetime-local": "datetime",
        "number": "number",
        "range": "number",
        "select": "select",
        "checkbox": "checkbox",
        "hidden": "hidden",
        "file": "file",
        "submit": "submit",
    }.get(html_type, "text")


# --- What a view reads, from its source ------------------------------------------------

FORM_CLASS = re.compile(r"(?:\b(\w+)\.)?\b([A-Z]\w*(?:Form|Editor|FormSet|Builder))\(")
# A form bound to the query string: its fields are query parameters too.
GET_BOUND = re.compile(r"request\.GET(?: or\b|\.dict\(\))|\(request\.GET\)|else \(request\.GET")
GET_NAME = re.compile(r"""GET(?:\.get|\.getlist)?[\(\[]["'](\w+)["']""")
POST_NAME = re.compile(
    r"""POST(?:\.get|\.getlist)?[\(\[]["'](\w+)["']|["'](\w+)["'] in request\.POST"""
)


def form_field_type(field) -> str:
    if isinstance(field, django_forms.SplitDateTimeField | django_forms.DateTimeField):
        return "datetime"
    if isinstance(field, django_forms.DateField):
        return "date"
    if isinstance(field, django_forms.TimeField):
        return "time"
    if isinstance(field, django_forms.IntegerField | django_forms.DecimalField):
        return "number"
    if isinstance(field, django_forms.FloatField):
        return "number"
    if isinstance(field, django_forms.BooleanField):
        return "checkbox"
    if isinstance(field, django_forms.FileField):
        return "file"
    if isinstance(field, django_forms.ChoiceField | django_forms.ModelChoiceField):
        return "select"
    return "text"


def view_source(pattern) -> tuple[str, dict]:
    view = inspect.unwrap(pattern.callback)
    if hasattr(pattern.callback, "view_class"):
        view = pattern.callback.view_class
    try:
        source = inspect.getsource(view)
    except (OSError, TypeError):
        return "", {}
    return source, getattr(view, "__globals__", None) or vars(inspect.getmodule(view))


def view_reads(pattern) -> tuple[set[str], dict[str, str], bool]:
    """(GET names, POST field name -> type, mentions htmx) read by the view."""
    source, namespace = view_source(pattern)
    get_names = set(GET_NAME.findall(source))
    post_fields: dict[str, str] = {}
    for pair in POST_NAME.findall(source):
        post_fields[pair[0] or pair[1]] = "text"
    for module_name, class_name in FORM_CLASS.findall(source):
        owner = namespace.get(module_name) if module_name else None
        cls = getattr(owner, class_name, None) if owner else namespace.get(class_name)
        fields = getattr(cls, "base_fields", None) or {}
        for name, field in fields.items():
            post_fields.setdefault(name, form_field_type(field))
            if GET_BOUND.search(source):
                get_names.add(name)
    return get_names, post_fields, "htmx" in source


# --- Objects and URL keywords ------------------------------------------------------------


def _subject_access_target(kwargs):
    from mesoclinic.records.messages import LINK_ACTION
    from mesoclinic.records.models import SubjectAccessExport

    return (LINK_ACTION, SubjectAccessExport.objects.get(public_id=kwargs["export_id"]).pk)


def public_tokens(kwargs) -> dict[str, dict[str, str]]:
    """For each signed-link URL: a good token and malformed, tampered, expired ones."""
    from mesoclinic.core import links as signed_links
    from patients import links as patient_links
    from patients.models import Patient, SignedConsent
    from sessions.comms import links
    from sessions.scheduling.models import Appointment

    appointment = Appointment.objects.get(public_id=kwargs["appointment_id"])
    consent = SignedConsent.objects.get(public_id=kwargs["consent_id"])
    patient = Patient.objects.get(public_id=kwargs["patient_id"])
    targets = {
        "public:unsubscribe": (patient_links.UNSUBSCRIBE, patient.pk),
        "public:appointment_confirm": (links.CONFIRM, appointment.pk),
        "public:appointment_cancel": (links.CANCEL, appointment.pk),
        "public:appointment_reschedule": (links.RESCHEDULE, appointment.pk),
        "public:aftercare_pdf": (links.AFTERCARE_PDF, appointment.pk),
        "public:consent_pdf": (links.CONSENT_PDF, consent.pk),
        "public:subject_access_download": _subject_access_target(kwargs),
    }
    long_ago = timezone.now() - datetime.timedelta(days=settings.PATIENT_LINK_MAX_AGE_DAYS + 5)
    tokens = {}
    for name, (action, pk) in targets.items():
        good = signed_links.make_token(action, pk)
        with time_machine.travel(long_ago, tick=False):
            expired = signed_links.make_token(action, pk)
        other_action = links.CANCEL if action != links.CANCEL else links.CONFIRM
        tokens[name] = {
            "good": good,
            "tampered": good[:-1] + ("A" if good[-1] != "A" else "B"),
            "expired": expired,
            "other action": signed_links.make_token(other_action, pk),
            "missing object": signed_links.make_token(action, 999_999_999),
            "garbage": "garbage",
            "colons": "a:b:c",
            "long": "t" * 2_000,
            "nul": "a\x00b",
        }
    return tokens


def kwarg_variants(name: str, pattern, kwargs, tokens) -> list[tuple[str, dict]]:
    """(label, URL kwargs) for the real objects and each bad replacement of one keyword."""
    keywords = re.findall(r"<(?:(\w+):)?(\w+)>", str(pattern.pattern))
    real = {k: kwargs[k] for _, k in keywords}
    if name in tokens:
        real["token"] = tokens[name]["good"]
    variants = [("real ids", real)]
    uuid_values = [v for k, v in kwargs.items() if k.endswith("_id") and isinstance(v, uuid.UUID)]
    for converter, key in keywords:
        bad: list[tuple[str, object]] = []
        if converter == "uuid":
            bad.append(("random uuid", uuid.uuid4()))
            others = [v for v in uuid_values if v != real[key]]
            bad += [("another object's id", v) for v in others[:1]]
        elif converter == "int":
            bad += [("missing id", 999_999_999), ("huge id", int(HUGE_INT))]
        elif name in tokens:
            bad += [(label, t) for label, t in tokens[name].items() if label != "good"]
        else:
            bad += [
                ("garbage token", "garbage"),
                ("tampered token", str(real[key])[:-1] + "A"),
                ("long token", "t" * 2_000),
                ("nul token", "a\x00b"),
            ]
        for label, value in bad:
            variants.append((f"{key}={label}", {**real, key: value}))
    return variants


# --- The walk ----------------------------------------------------------------------------


class Walk:
    def __init__(self, client: Client, role: str):
        self.client = client
        self.role = role
        self.failures: list[str] = []
        self.count = 0

    def send(self, name, method, url, *, data=None, htmx=False, payload="", files=None):
        headers = {"HX-Request": "true"} if htmx else {}
        self.count += 1
        return self._send(
            name, method, url, data=data, htmx=htmx, payload=payload, files=files, headers=headers
        )

    def _send(self, name, method, url, *, data, htmx, payload, files, headers):
        with transaction.atomic():
            try:
                if method == "GET":
                    response = self.client.get(url, data or {}, headers=headers)
                else:
                    body = dict(data or {})
                    body.update(files or {})
                    response = self.client.post(url, body, headers=headers)
                drain(response)
            except Exception as exc:  # the client itself choked: count it as a crash
                response = None
                error = f"{type(exc).__name__}: {exc}"[:300]
            transaction.set_rollback(True)
        if response is not None and response.status_code < 500:
            return response
        if response is not None:
            error = describe(response)
        shown = {k: short(v) for k, v in (data or {}).items()}
        self.failures.append(
            f"{name} {method} as {self.role}{' (htmx)' if htmx else ''} {short(url)} "
            f"[{payload}] data={shown}\n    -> {error}"
        )
        return response


def short(value) -> str:
    text = repr(value) if not isinstance(value, str) else value
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} chars)"


def describe(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return f"status {response.status_code}"
    _, exc, tb = exc_info
    frames = [
        f"{f.filename.rsplit('/main/', 1)[-1]}:{f.lineno}"
        for f in traceback.extract_tb(tb)
        if "/site-packages/" not in f.filename
    ]
    where = " > ".join(frames[-3:])
    return f"{response.status_code} {type(exc).__name__}: {str(exc)[:200]} at {where}"


def file_value(kind: str):
    if kind == "<empty file>":
        return SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg")
    return SimpleUploadedFile(
        "bad.jpg", b"\xff\xd8\xff garbage \x00" * 50, content_type="image/jpeg"
    )


def split_files(fields: dict) -> tuple[dict, dict]:
    data, files = {}, {}
    for key, value in fields.items():
        if value in ("<not an image>", "<empty file>"):
            files[key] = file_value(value)
        else:
            data[key] = value
    return data, files


def baseline_of(form: dict) -> tuple[dict, dict[str, str]]:
    """A form's data as rendered (no submit buttons), and each field's type."""
    data: dict[str, object] = {}
    types: dict[str, str] = {}
    for name, html_type, value, on in form["fields"]:
        kind = field_type(name, html_type)
        if kind == "submit":
            continue
        types.setdefault(name, kind)
        if kind == "file" or not on:
            continue
        if name in data:
            existing = data[name]
            data[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[name] = value
    return data, types


def submits_of(form: dict) -> list[tuple[str, str]]:
    return [(name, value) for name, kind, value, _ in form["fields"] if kind == "submit"]


def walk_role(walk: Walk, kwargs, tokens, *, anonymous: bool, deep: bool) -> None:
    patterns = all_patterns()
    # Pass 1: every page as this role, to learn its forms and htmx targets.
    forms_by_path: dict[str, list[dict]] = defaultdict(list)
    htmx_paths: set[str] = set()
    refused: set[str] = set()
    real_urls = {}
    for name, pattern in patterns:
        real = kwarg_variants(name, pattern, kwargs, tokens)[0][1]
        url = reverse(name, kwargs=real)
        real_urls[name] = url
        response = walk.send(name, "GET", url, payload="plain GET")
        if response is None:
            continue
        if response.status_code in (401, 403) or (
            anonymous and response.status_code == 302 and "/accounts/login/" in response["Location"]
        ):
            refused.add(name)
            continue
        content_type = response.get("Content-Type", "")
        if "html" in content_type and not response.streaming:
            found, htmx = page_forms(response.content.decode("utf-8", "replace"), url)
            for form in found:
                forms_by_path[form["path"]].append(form)
                if form["htmx"]:
                    htmx_paths.add(form["path"])
            htmx_paths |= htmx

    # Pass 2: garbage at every URL.
    mutated_forms: set[frozenset] = set()
    for name, pattern in patterns:
        url = real_urls[name]
        get_names, post_fields, mentions_htmx = view_reads(pattern)
        page_get_forms = [f for f in forms_by_path.get(url, []) if f["method"] == "get"]
        post_forms = [f for f in forms_by_path.get(url, []) if f["method"] == "post"]
        htmx = mentions_htmx or url in htmx_paths

        if name in refused:
            # A refused role gets the door shut whatever it sends: a light check only.
            walk.send(name, "GET", url, data=COMMON_QUERY_SETS[0], payload="garbage query")
            walk.send(name, "POST", url, data=dict.fromkeys(post_fields, "abc"), payload="garbage")
            continue

        # GET: common garbage all at once, then each parameter the view reads alone.
        for i, query in enumerate(COMMON_QUERY_SETS):
            walk.send(name, "GET", url, data=query, payload=f"common query #{i}")
        if htmx:
            walk.send(name, "GET", url, data=COMMON_QUERY_SETS[0], htmx=True, payload="query")
        params = set(get_names)
        for form in page_get_forms:
            params |= {n for n, kind, _, _ in form["fields"] if kind != "submit"}
        for param in sorted(params) if deep else ():
            for value in QUERY_VALUES if deep else QUERY_VALUES_SHALLOW:
                walk.send(name, "GET", url, data={param: value}, payload=f"param {param}=garbage")

        # POST: empty, every field garbage at once, forms as rendered, one field at a time.
        names = set(post_fields) | set(COMMON_POST)
        for form in post_forms:
            names |= {n for n, kind, _, _ in form["fields"]}
        walk.send(name, "POST", url, data={}, payload="empty")
        if htmx:
            walk.send(name, "POST", url, data={}, htmx=True, payload="empty")
        everything = ALL_FIELDS_VALUES if deep and len(names) <= BIG_FORM else ALL_FIELDS_SHALLOW
        for value in everything:
            data = dict.fromkeys(sorted(names), value)
            walk.send(name, "POST", url, data=data, payload=f"all fields={short(value)}")
            if htmx and value in ("abc", NUL):
                walk.send(name, "POST", url, data=data, htmx=True, payload="all fields")

        baselines = []
        seen = set()
        for form in post_forms:
            data, types = baseline_of(form)
            for submit in submits_of(form) or [None]:
                full = dict(data)
                if submit:
                    full[submit[0]] = submit[1]
                key = repr(sorted(full.items()))
                if key not in seen:
                    seen.add(key)
                    baselines.append((full, types))
        if not baselines and post_fields:
            baselines.append(({}, dict(post_fields)))
        for data, _ in baselines[:8]:
            walk.send(name, "POST", url, data=data, payload="form as rendered")
            if htmx:
                walk.send(name, "POST", url, data=data, htmx=True, payload="form as rendered")
        data, types = max(baselines, key=lambda b: len(b[1])) if baselines else ({}, {})
        form_shape = frozenset(re.sub(r"\d+", "N", n) for n in {*post_fields, *types})
        if baselines and deep and form_shape not in mutated_forms:
            # The same form at another URL (create and edit) was already taken apart.
            mutated_forms.add(form_shape)
            # A very large form (the protocol editor, ~0.3 s a page) gets one value per
            # field and one field per group, to keep the walk near a minute.
            big = len(form_shape) > BIG_FORM
            per_group, values_per_field = (1, 1) if big else (PER_GROUP, None)
            done: set[str] = set()
            groups: dict[tuple, int] = defaultdict(int)
            for field_name, field_kind in sorted({**post_fields, **types}.items()):
                kind = types.get(field_name, field_kind)
                # One row of a formset (or one of session_1, session_2...) stands for all,
                # and a few fields of a group (ci-..., ...-TOTAL_FORMS) for the rest.
                shape = re.sub(r"\d+", "N", field_name)
                by_prefix, by_suffix = (shape.split("-")[0], kind), (shape.split("-")[-1], kind)
                if shape in done or max(groups[by_prefix], groups[by_suffix]) >= per_group:
                    continue
                done.add(shape)
                groups[by_prefix] += 1
                groups[by_suffix] += 1
                for value in FIELD_VALUES.get(kind, [])[:values_per_field]:
                    mutated = {**data, field_name: value}
                    body, files = split_files(mutated)
                    walk.send(
                        name,
                        "POST",
                        url,
                        data=body,
                        files=files,
                        htmx=htmx,
                        payload=f"field {field_name}={short(value)}",
                    )

        # URL keywords replaced by missing, foreign or malformed ones.
        for label, variant in kwarg_variants(name, pattern, kwargs, tokens)[1:]:
            bad_url = reverse(name, kwargs=variant)
            walk.send(name, "GET", bad_url, payload=f"kwarg {label}")
            walk.send(name, "POST", bad_url, data={}, payload=f"kwarg {label}")
            if baselines and deep:
                walk.send(
                    name, "POST", bad_url, data=baselines[0][0], payload=f"kwarg {label}, form"
                )


@pytest.fixture
def plain_templates(monkeypatch):
    """Render without the test client's template recording: this walk reads status codes
    only, and copying every context of thousands of pages costs most of its time."""
    from django.template.base import Template
    from django.test.utils import _TestState

    monkeypatch.setattr(Template, "_render", _TestState.saved_data.template_render)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_no_url_answers_bad_input_with_a_500(
    role,
    users_by_role,
    sample_kwargs,  # noqa: F811 - the permission walk's fixture
    plain_templates,
):
    client = Client(raise_request_exception=False)
    if ROLES[role] is not None:
        client.force_login(users_by_role[ROLES[role]])
    tokens = public_tokens(sample_kwargs)
    walk = Walk(client, role)
    # The manager opens every page: the field-by-field pass runs as the manager (and
    # anonymously, for the signed-link pages); other roles get the lighter pass.
    walk_role(
        walk,
        sample_kwargs,
        tokens,
        anonymous=ROLES[role] is None,
        deep=ROLES[role] in (roles.MANAGER, None),
    )
    assert walk.count > 100
    assert not walk.failures, (
        f"{len(walk.failures)} of {walk.count} requests as {role} answered 5xx:\n"
        + "\n".join(walk.failures)
    )
