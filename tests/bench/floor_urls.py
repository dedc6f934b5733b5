"""The bench's URLs: the app's, plus the floor (`make bench` only, never deployed).

The floor is the least a staff page costs on this machine at this moment: the same
middleware, session and signed-in user as every page, rendering the base layout
around an empty page, no query of its own. Page figures are also reported as a ratio
to it (`<page>_ratio`), so a busy machine and a slower page can be told apart.
"""

from functools import cache

from django.http import HttpResponse
from django.template import engines
from django.urls import include, path

from mesoclinic.core import roles

FLOOR_URL = "/__bench/floor/"
PAGE = """{% extends "base.html" %}
{% block title %}Floor{% endblock %}
{% block content %}<h1>Floor</h1><p>The base layout around an empty page.</p>{% endblock %}
"""


@cache
def _template():
    return engines["django"].from_string(PAGE)


@roles.role_required(roles.STAFF)
def floor(request):
    return HttpResponse(_template().render({}, request))


urlpatterns = [
    path(FLOOR_URL.strip("/") + "/", floor, name="bench_floor"),
    path("", include("mesoclinic.urls")),
]
