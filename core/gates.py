"""Which rows a user may see, for any model: the one rule the admin's chrome (lists, delete
confirmations, "Recent actions") applies to objects it did not choose itself.

A model says who may see its rows with a `restrict(user, action)` method on its queryset
(engagements and their history rows by marking, users by the admin's reach, …). A model
without one is gated, in this order: if it is the history of a
gated model (django-simple-history's), like the rows it is the history of, as they are now;
by what it belongs to: a row that is deleted with a gated object (a required foreign key
with `on_delete=CASCADE`: an engagement's partner links, a user's API tokens) is visible
exactly when that object is. A third-party model says it with `register()`. Everything
else (pillars, partners, tips) is visible to everyone signed in with a role.

Django's `LogEntry` points at its object through a content type and a text id; it is
visible when its user is and its object exists and is visible now (see `visible_log`).
"""

from collections import defaultdict
from functools import cache

from django.contrib.admin.models import LogEntry
from django.db import models
from django.db.models import QuerySet

# Gates of models that are not ours to change: {model: function(queryset, user)}.
_registered = {}


def register(model, gate):
    """Gate `model`'s rows with `gate(queryset, user)` (for third-party models)."""
    _registered[model] = gate
    is_gated.cache_clear()
    _owners.cache_clear()


def _own_gate(model):
    return hasattr(model._default_manager.get_queryset(), "restrict")


def _history_of(model):
    """The gated model `model` is the simple_history history of, or None."""
    instance = getattr(model, "instance_type", None)
    return instance if instance is not None and is_gated(instance) else None


@cache
def _owners(model):
    """The required cascading foreign keys of `model` that lead to a gated model."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.many_to_one
        and not field.null
        and field.remote_field.on_delete is models.CASCADE
        and field.related_model is not model
        and is_gated(field.related_model)
    ]


@cache
def is_gated(model):
    """Whether some rows of `model` may be hidden from someone."""
    return (
        model is LogEntry
        or model in _registered
        or _own_gate(model)
        or _history_of(model) is not None
        or bool(_owners(model))
    )


def restrict(queryset, user):
    """The rows of `queryset` that `user` may see."""
    model = queryset.model
    if model is LogEntry:
        return queryset.filter(pk__in=[entry.pk for entry in visible_log(user, queryset)])
    if model in _registered:
        return _registered[model](queryset, user)
    if _own_gate(model):
        if hasattr(queryset, "restrict"):
            return queryset.restrict(user)
        # A plain queryset of the model (Django's deletion collector makes those).
        shown = model._default_manager.all().restrict(user)
        return queryset.filter(pk__in=shown.values("pk"))
    instance = _history_of(model)
    if instance is not None:
        shown = restrict(instance._default_manager.all(), user)
        return queryset.filter(**{f"{instance._meta.pk.attname}__in": shown.values("pk")})
    for field in _owners(model):
        owners = restrict(field.related_model._default_manager.all(), user)
        queryset = queryset.filter(**{f"{field.name}__in": owners.values("pk")})
    return queryset


def hidden(objects, user):
    """The objects among `objects` (model instances of any models) that `user` may not
    see, as a set. One query per gated model."""
    by_model = defaultdict(list)
    for obj in objects:
        by_model[type(obj)].append(obj)
    hidden = set()
    for model, instances in by_model.items():
        if model is LogEntry:
            shown = {entry.pk for entry in visible_log(user, instances)}
        elif is_gated(model):
            pks = [obj.pk for obj in instances]
            base = model._default_manager.filter(pk__in=pks)
            shown = set(restrict(base, user).values_list("pk", flat=True))
        else:
            continue
        hidden.update(obj for obj in instances if obj.pk not in shown)
    return hidden


def any_hidden(batch, user):
    """Whether `batch` (a queryset, or instances of one model) holds a row `user` may not
    see; a queryset is counted, never loaded."""
    if isinstance(batch, QuerySet):
        return is_gated(batch.model) and batch.count() != restrict(batch, user).count()
    return bool(hidden(list(batch), user))


def visible_log(user, entries):
    """The admin log entries among `entries` that `user` may see, in their order: entries
    whose user `user` may see, about an object that exists and that `user` may see now.
    An entry about a gated model shows the object's name as it is now, never the name
    it had when the entry was written (it may have been retitled when it was lowered).
    A clearance taken down counts at once: nothing is decided when the entry is written.
    """
    entries = list(entries)
    from django.contrib.auth import get_user_model

    users = {entry.user_id for entry in entries}
    seen_users = set(
        restrict(get_user_model()._default_manager.filter(pk__in=users), user).values_list(
            "pk", flat=True
        )
    )
    wanted = defaultdict(set)
    for entry in entries:
        if entry.content_type_id is not None:
            wanted[entry.content_type_id].add(entry.object_id)
    shown = {}  # (content type id, object id text) → the object now, for gated models
    open_types = set()
    for content_type_id, object_ids in wanted.items():
        model = _model_of(entries, content_type_id)
        if model is None or not is_gated(model):
            open_types.add(content_type_id)
            continue
        pks = [_pk(model, object_id) for object_id in object_ids]
        found = restrict(model._default_manager.filter(pk__in=[p for p in pks if p]), user)
        shown.update({(content_type_id, str(obj.pk)): obj for obj in found})
    visible = []
    for entry in entries:
        if entry.user_id not in seen_users:
            continue
        if entry.content_type_id in open_types or entry.content_type_id is None:
            visible.append(entry)
            continue
        obj = shown.get((entry.content_type_id, str(entry.object_id)))
        if obj is not None:
            entry.object_repr = str(obj)
            entry.shown_object = obj  # for the page's marking (core.admin.AdminSite.index)
            visible.append(entry)
    return visible


def _model_of(entries, content_type_id):
    for entry in entries:
        if entry.content_type_id == content_type_id:
            return entry.content_type.model_class()
    return None


def _pk(model, object_id):
    try:
        return model._meta.pk.to_python(object_id)
    except Exception:  # noqa: BLE001 - a malformed id in the log names no object
        return None
