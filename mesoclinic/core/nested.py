"""Child rows read in their parent's query, as model instances: one round trip, not two.

`rows(queryset, fields)` is an expression to annotate a parent with: the correlated
child rows (filter the queryset with OuterRef) as one JSON array. `instances(model,
value, fields)` turns that array back into model instances holding those fields
(reading any other field would run a query; tests count queries). Decimals travel as
text, so money stays exact; dates and times are parsed back by each field.

Used where a page needs a few small lists per parent and a separate query per list
would cost more than the rows themselves (the patient page).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.postgres.aggregates import JSONBAgg
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import F, Subquery, TextField, Value
from django.db.models.functions import Cast, Coalesce, JSONObject


def _attname(model, name: str) -> str:
    return model._meta.get_field(name).attname


def rows(
    queryset: models.QuerySet,
    fields: Sequence[str],
    *,
    order_by: Sequence[str] = (),
    extra: dict | None = None,
) -> Coalesce:
    """The queryset's rows as a JSON array of {attname: value}, [] when there are none.

    `extra`: more values per row (name: expression, e.g. F("author__first_name")),
    set as plain attributes by `instances`.
    """
    model = queryset.model
    values = dict(extra or {})
    for name in fields:
        field = model._meta.get_field(name)
        expression = F(name)
        if isinstance(field, models.DecimalField):
            expression = Cast(name, TextField())
        values[field.attname] = expression
    ordering = [F(o[1:]).desc() if o.startswith("-") else F(o).asc() for o in order_by]
    aggregated = (
        queryset.order_by()
        .annotate(_one=Value(1))
        .values("_one")
        .annotate(_rows=JSONBAgg(JSONObject(**values), order_by=ordering))
        .values("_rows")
    )
    return Coalesce(Subquery(aggregated), Value([], output_field=models.JSONField()))


def instances(
    model, value: Iterable[dict] | None, fields: Sequence[str], *, extra: Iterable[str] = ()
) -> list:
    """Model instances from `rows(...)`, in the array's order."""
    wanted = {_attname(model, name) for name in fields}
    # Model.from_db takes the values in the model's field order.
    concrete = [f for f in model._meta.concrete_fields if f.attname in wanted]
    attnames = [f.attname for f in concrete]
    by_attname = {f.attname: f for f in concrete}
    built = []
    for row in value or ():
        values = [by_attname[a].to_python(row.get(a)) for a in attnames]
        instance = model.from_db(DEFAULT_DB_ALIAS, attnames, values)
        for name in extra:
            setattr(instance, name, row.get(name))
        built.append(instance)
    return built


def attach(obj: models.Model, related_name: str, children: list) -> None:
    """Make `obj.<related_name>.all()` return these children without a query (as
    prefetch_related would)."""
    manager = getattr(obj, related_name)
    queryset = manager.get_queryset()
    queryset._result_cache = list(children)
    queryset._prefetch_done = True
    # Reverse foreign keys cache under the remote field's cache name, many-to-many
    # relations under prefetch_cache_name (django.db.models.fields.related_descriptors).
    field = getattr(manager, "field", None)
    key = getattr(manager, "prefetch_cache_name", None) or field.remote_field.cache_name
    obj.__dict__.setdefault("_prefetched_objects_cache", {})[key] = queryset


def once(obj: object, key: str, compute):
    """compute() the first time for this object (a request's patient), then the same
    result: the page's panels and timeline share one read."""
    memo = obj.__dict__.setdefault("_nested_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]
