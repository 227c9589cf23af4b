"""Writing the audit trail: `record()` appends one entry, chained to the one before, and
writes it as one JSON line to the `audit` logger for a log collector.

Every door records through it: sign-in and sign-out (the receivers below), a read of an
engagement (its page, its API detail, its history), a download (lists, reports, the brief,
a calendar fetch: with its filters and its number of rows), a change to an account
(accounts/credentials.py). Where the thing recorded has a transaction, the entry is
written in it: both land or neither.
"""

import json
import logging

from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.choices import Marking
from accounts.models import AuditChain, AuditEntry, User
from core.addresses import client_address

audit_log = logging.getLogger("audit")


def new_entry(
    action,
    *,
    request=None,
    user=None,
    username="",
    object_type="",
    object_id="",
    marking=Marking.NU,
    outcome="ok",
    detail=None,
):
    """An entry, not yet chained nor saved. `user` defaults to the request's, when signed
    in; `username` names who tried when nobody is (a failed sign-in)."""
    if user is None and request is not None and getattr(request, "user", None) is not None:
        user = request.user if request.user.is_authenticated else None
    return AuditEntry(
        user_id=user.pk if user is not None else None,
        username=(user.get_username() if user is not None else username)[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        marking=marking,
        address=(client_address(request) if request is not None else "") or "",
        outcome=outcome,
        detail=detail or {},
    )


def record(action, **fields):
    """Append an entry (`new_entry()`'s arguments)."""
    entry = new_entry(action, **fields)
    # When it happened: taken before the chain's end is locked, so two entries made in the
    # same instant may be chained in the other order (the sequence, not the time, is the
    # chain's order).
    entry.at = timezone.now()
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        # Unhurried only as a transaction of its own, never a write's it is part of.
        unhurried = action in UNHURRIED and not connection.in_atomic_block
        _append_in_one_statement(entry, connection, unhurried)
    else:
        # Inside the transaction of what it records, if there is one (no savepoint: both
        # land or neither); otherwise in a transaction of its own.
        with transaction.atomic(savepoint=False):
            entry.sequence, entry.previous_hash = _next_link(connection)
            entry.hash = entry.computed_hash()
            entry.pk = _insert_and_move_the_end(entry, connection)
    # Logged once it is stored: never a line for an entry rolled back with its change.
    line = json.dumps(entry.as_dict(), default=str, sort_keys=True)
    transaction.on_commit(lambda: audit_log.info(line))
    return entry


# Entries of reads and downloads, the many: their own transaction commits without waiting
# for the write-ahead log to reach the disk (PostgreSQL's synchronous_commit off, for that
# transaction only). A crash of the database server can lose the last fraction of a second
# of them, together with the chain's end (the chain stays whole); it cannot lose a
# sign-in, a refusal or an account change, nor any entry written with what it records.
UNHURRIED = {"read", "download"}

# An append is on every audited read, so on PostgreSQL it is one statement, one round
# trip (docs/performance.md, "The audit trail"): it locks the chain's end and moves it on
# (every SET reads the row as it was, so `previous_hash` keeps the end's hash before),
# the hash computed there as AuditEntry.computed_hash() computes it (sha256 of the
# previous hash and the content, the content joined around the sequence the end gives),
# and inserts the entry. Outside a transaction it is a transaction of its own;
# set_config(…, true) is SET LOCAL.
APPEND = """
WITH {unhurried} link AS (
    UPDATE {chain} SET
        last_sequence = last_sequence + 1,
        previous_hash = last_hash,
        last_hash = encode(sha256(convert_to(
            last_hash || %s || (last_sequence + 1)::text || %s, 'UTF8')), 'hex')
    {from_unhurried} WHERE id = 1
    RETURNING last_sequence, previous_hash, last_hash
)
INSERT INTO {entries} (sequence, previous_hash, hash, {columns})
SELECT last_sequence, previous_hash, last_hash, {values} FROM link
RETURNING id, sequence, previous_hash, hash
"""
UNHURRIED_CTE = "unhurried AS (SELECT set_config('synchronous_commit', 'off', true)),"
CHAINED = {"id", "sequence", "previous_hash", "hash"}

# On other databases (SQLite: no sha256 in SQL), in its transaction: the chain's end
# locked and moved on, then the entry inserted and its hash recorded as the end's.
NEXT_LINK = "UPDATE {chain} SET last_sequence = last_sequence + 1 WHERE id = 1"
RETURNING = " RETURNING last_sequence, last_hash"
MOVE_THE_END = "UPDATE {chain} SET previous_hash = last_hash, last_hash = %s WHERE id = 1"
INSERT = "INSERT INTO {entries} ({columns}) VALUES ({values}) RETURNING id"


def _tables(connection):
    quote = connection.ops.quote_name
    return {"chain": quote(AuditChain._meta.db_table), "entries": quote(AuditEntry._meta.db_table)}


def _append_in_one_statement(entry, connection, unhurried):
    columns, values = _columns_and_values(entry, connection, exclude=CHAINED)
    sql = APPEND.format(
        **_tables(connection),
        unhurried=UNHURRIED_CTE if unhurried else "",
        from_unhurried="FROM unhurried" if unhurried else "",
        columns=columns,
        values=", ".join(["%s"] * len(values)),
    )
    head, tail = entry.content_around_sequence()
    appended = _at_the_end(connection, sql, [head, tail, *values])
    entry.pk, entry.sequence, entry.previous_hash, entry.hash = appended


def _next_link(connection):
    """The next entry's sequence and the previous entry's hash; the chain's end stays
    locked until the transaction ends, so appends are chained one at a time, in order."""
    return _at_the_end(connection, (NEXT_LINK + RETURNING).format(**_tables(connection)))


def _at_the_end(connection, sql, params=()):
    """The row `sql` (a statement moving the chain's end on) returns, the end made first
    if there is none yet (the first entry ever)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            AuditChain.objects.get_or_create(pk=1)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return row


def _insert_and_move_the_end(entry, connection):
    """Insert `entry` and make its hash the chain's end; returns its id."""
    columns, values = _columns_and_values(entry, connection, exclude={"id"})
    insert = INSERT.format(
        **_tables(connection), columns=columns, values=", ".join(["%s"] * len(values))
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, values)
        pk = cursor.fetchone()[0]
        cursor.execute(MOVE_THE_END.format(**_tables(connection)), [entry.hash])
        return pk


def _columns_and_values(entry, connection, exclude):
    """The entry's columns (quoted, joined) and their values, but those of `exclude`."""
    fields = [field for field in AuditEntry._meta.concrete_fields if field.name not in exclude]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(getattr(entry, field.attname), connection) for field in fields]
    return columns, values


def read(request, marked, what="engagement"):
    """A read of a marked record (an engagement or a person: its page, its API detail, its
    history), named by its model (`object_type` "engagement", "person")."""
    return record(
        "read",
        request=request,
        object_type=marked._meta.model_name,
        object_id=marked.pk,
        marking=marked.marking,
        detail={"what": what},
    )


def download(request, name, marking, rows, file_format, filters=None, user=None):
    """A download or export: what, its filters, how many rows, the highest marking in it.
    `user`: whose it is when the request has no signed-in user (a calendar fetch)."""
    return record(
        "download",
        request=request,
        user=user,
        object_type=name,
        marking=marking,
        detail={
            "format": file_format,
            "rows": rows,
            "filters": filters if filters is not None else request.GET.urlencode(),
        },
    )


class DeniedMiddleware:
    """Records each refusal (a 403) of a signed-in user: a failed authorisation, what an
    accreditor asks to see beside the failed sign-ins (ASVS 16.3.2, NIST AU-2)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code == 403 and user is not None and user.is_authenticated:
            record(
                "denied",
                request=request,
                outcome="denied",
                detail={"method": request.method, "path": request.path[:300]},
            )
        return response


def since_last_sign_in(user):
    """The user's previous sign-in (an entry, or None) and how many failed sign-ins on the
    account came after it: what the user is told once after signing in (NIST AC-9)."""
    mine = AuditEntry.objects.filter(username=user.get_username())  # audit_user_idx
    previous = mine.filter(action="sign_in").order_by("-at", "-id").first()
    failed = mine.filter(action="sign_in_failed")
    if previous is not None:
        failed = failed.filter(at__gt=previous.at)
    return previous, failed.count()


@receiver(user_logged_in, dispatch_uid="accounts.audit.signed_in")
def signed_in(sender, request, user, **kwargs):
    via = "token" if request is not None and request.path.startswith("/api/") else "page"
    record("sign_in", request=request, user=user, detail={"via": via})


@receiver(user_logged_out, dispatch_uid="accounts.audit.signed_out")
def signed_out(sender, request, user, **kwargs):
    if user is not None:
        record("sign_out", request=request, user=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    record(
        "sign_in_failed",
        request=request,
        username=str(credentials.get("username", ""))[:150],
        outcome="failed",
    )


# Changes to accounts, whatever door made them (the admin, a command, the password page).
# Who made it: the request simple-history's middleware keeps for the change history.
ACCOUNT_FIELDS = [
    "username",
    "email",
    "first_name",
    "last_name",
    "clearance",
    "is_active",
    "is_staff",
    "is_superuser",
]


def _current_request():
    return getattr(HistoricalRecords.context, "request", None)


def account_change(action, account, detail):
    request = _current_request()
    record(
        action,
        request=request,
        object_type="user",
        object_id=account.pk,
        detail={"account": account.get_username(), **detail},
    )


@receiver(pre_save, sender=User, dispatch_uid="accounts.audit.account_before")
def account_before(sender, instance, update_fields=None, **kwargs):
    if instance._state.adding or update_fields == frozenset(["last_login"]):
        instance._audit_before = None
        return
    instance._audit_before = (
        User.objects.filter(pk=instance.pk).values(*ACCOUNT_FIELDS).first() or {}
    )


@receiver(post_save, sender=User, dispatch_uid="accounts.audit.account_saved")
def account_saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        values = {name: getattr(instance, name) for name in ACCOUNT_FIELDS}
        account_change("account_created", instance, {"set": values})
        return
    before = getattr(instance, "_audit_before", None)
    if before is None:  # only last_login moved: the sign-in is recorded as such
        return
    changed = {
        name: [before.get(name), getattr(instance, name)]
        for name in ACCOUNT_FIELDS
        if before.get(name) != getattr(instance, name)
    }
    if instance._password is not None:  # set_password() since the last save
        changed["password"] = "set"
    if changed:
        account_change("account_changed", instance, {"changed": changed})


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="accounts.audit.account_roles")
def account_roles(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    verb = {"post_add": "added", "post_remove": "removed", "pre_clear": "removed"}[action]
    if not reverse:
        groups = instance.groups.all() if pk_set is None else Group.objects.filter(pk__in=pk_set)
        names = sorted(group.name for group in groups)
        account_change("account_changed", instance, {f"groups {verb}": names})
    else:
        users = instance.user_set.all() if pk_set is None else User.objects.filter(pk__in=pk_set)
        for account in users:
            account_change("account_changed", account, {f"groups {verb}": [instance.name]})


@receiver(post_delete, sender=User, dispatch_uid="accounts.audit.account_deleted")
def account_deleted(sender, instance, **kwargs):
    account_change("account_deleted", instance, {})
