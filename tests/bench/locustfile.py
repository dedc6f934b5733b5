"""Locust scenario of the staff load test (started by tests/bench/load_bench.py).

Reads the scenario load_bench prepared (LOAD_SCENARIO: signed-in sessions, patients,
locations, the course to book, the charts to save). Front desk: calendar week, patient
search, patient page, plan and book a course, quote. Practitioners: calendar week,
patient page, chart save. A booking refused because the slot was just taken is a
refusal in words (counted, not an error); anything else outside 2xx/3xx is an error.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

from locust import HttpUser, between, events, task

SCENARIO = json.loads(Path(os.environ["LOAD_SCENARIO"]).read_text())
MAX_REQUESTS = int(os.environ.get("LOAD_REQUESTS", "20000"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SESSION_INPUT = re.compile(
    r'name="(session_\d+)"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="(session_\d+)"'
)
_lock = threading.Lock()
_counts = {"requests": 0, "refusals": 0}
# Each simulated user takes one signed-in session (and a practitioner their charts).
_pools = {"desk": [(s, []) for s in SCENARIO["desk_sessions"]], "doctor": list(SCENARIO["doctors"])}


@events.request.add_listener
def _count(**_kwargs):
    with _lock:
        _counts["requests"] += 1
        over = _counts["requests"] >= MAX_REQUESTS
    if over and _environment is not None and _environment.runner is not None:
        _environment.runner.quit()


_environment = None


@events.init.add_listener
def _init(environment, **_kwargs):
    global _environment
    _environment = environment


@events.quitting.add_listener
def _write_extra(**_kwargs):
    path = os.path.join(os.path.dirname(SCENARIO_PATH), "load-extra.json")
    with open(path, "w") as out:
        json.dump({"refusals": _counts["refusals"], "requests": _counts["requests"]}, out)


SCENARIO_PATH = os.environ["LOAD_SCENARIO"]


class FormValues(HTMLParser):
    """The fields of one form (by id) as a browser would submit them unchanged."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self._select = self._textarea = None
        self._options: list = []
        self._templates = 0  # inside <template>: rows for scripts to copy, never submitted

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self._templates += 1
            return
        if self._templates:
            return
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "template":
            self._templates = max(0, self._templates - 1)
            return
        if self._templates:
            return
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            chosen = [v for v, s in self._options if s] or [v for v, _ in self._options[:1]]
            self.fields += [(self._select, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append(tuple(self._textarea))
            self._textarea = None


class Staff(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    kind = "desk"

    def on_start(self):
        with _lock:
            pool = _pools[self.kind]
            key, self.charts = (
                pool.pop() if pool else random.choice([(s, []) for s in SCENARIO["desk_sessions"]])
            )
        self.client.cookies.set("sessionid", key)
        self.rng = random.Random()

    def _get(self, url, name, **kwargs):
        with self.client.get(url, name=name, catch_response=True, **kwargs) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
            return response

    @task(3)
    def calendar_week(self):
        first = date.fromisoformat(SCENARIO["first_day"])
        monday = first + timedelta(days=self.rng.randrange(0, SCENARIO["days"] - 7))
        monday -= timedelta(days=monday.weekday())
        location = self.rng.choice(SCENARIO["locations"])
        self._get(
            f"/schedule/calendar/?location={location}&view=week&date={monday}",
            "calendar_week",
        )
        self._get(
            f"/schedule/calendar/events?location={location}&start={monday}T00:00:00"
            f"&end={monday + timedelta(days=7)}T00:00:00",
            "calendar_events",
        )

    @task(3)
    def patient_page(self):
        self._get(f"/patients/{self.rng.choice(SCENARIO['patients'])}/", "patient_page")


class FrontDesk(Staff):
    weight = 4
    kind = "desk"

    @task(3)
    def patient_search(self):
        self._get(
            "/patients/", "patient_search", params={"q": self.rng.choice(SCENARIO["searches"])}
        )

    @task(2)
    def quote(self):
        patient = self.rng.choice(SCENARIO["patients"])
        self._get(
            f"/billing/quotes/new/{patient}/",
            "quote",
            params={SCENARIO["quote_field"]: str(self.rng.randint(1, 6))},
            headers={"HX-Request": "true"},
        )

    @task(1)
    def plan_and_book_course(self):
        patient = self.rng.choice(SCENARIO["patients"])
        course = SCENARIO["course"]
        params = {k: str(v) for k, v in course.items()}
        url = f"/schedule/courses/new/{patient}/"
        plan = self._get(url, "course_plan", params=params)
        if plan.status_code != 200:
            return
        html = plan.text
        token = CSRF.search(html)
        times = {}
        for m in SESSION_INPUT.finditer(html):
            name, value = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
            times[name] = value
        if token is None or not times or not all(times.values()):
            return  # nothing proposed: no slot in the window (a page, not an error)
        data = {**params, **times, "csrfmiddlewaretoken": token.group(1), "override_reason": ""}
        with self.client.post(
            url, data=data, name="course_book", catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code == 302:
                response.success()
            elif response.status_code == 200:
                # The form again, with the reason (the slot was taken meanwhile).
                with _lock:
                    _counts["refusals"] += 1
                response.success()
            else:
                response.failure(f"{response.status_code}")


class Practitioner(Staff):
    weight = 1
    kind = "doctor"

    @task(2)
    def chart_save(self):
        if not self.charts:
            return
        url = f"/charts/{self.rng.choice(self.charts)}/"
        page = self._get(url, "chart_open")
        if page.status_code != 200:
            return
        form = FormValues("chart-form")
        form.feed(page.text)
        data = [*form.fields, ("save", "1")]
        with self.client.post(
            url, data=data, name="chart_save", catch_response=True, allow_redirects=False
        ) as response:
            if response.status_code != 302:
                response.failure(f"{response.status_code}")
