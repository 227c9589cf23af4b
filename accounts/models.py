import hashlib
import json
import secrets
import uuid
from functools import cached_property
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group, Permission, UserManager
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models, transaction
from django.db.models import CharField, Max, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from accounts.choices import Marking, Role


def visible_markings(user):
    """The markings a user may see: up to its clearance; none at all for an anonymous or
    inactive user or one without a role (taking someone's role away takes their access).
    `Engagement.objects.restrict` and everything else marked (history rows, report cache
    keys, the write service's claim) apply this one rule."""
    if user is None or not user.is_authenticated or not user.is_active or not user.role:
        return []
    return Marking.up_to(user.clearance)


class MarkedQuerySet(models.QuerySet):
    """Rows that carry a `marking` (engagements, their history, the report summaries):
    `restrict(user)` keeps those within the user's clearance (`visible_markings`)."""

    def restrict(self, user, action="view"):
        markings = visible_markings(user)
        return self.filter(marking__in=markings) if markings else self.none()


def users_who_may_see(marking):
    """The users `visible_markings()` lets see an engagement marked `marking`: active, with
    a role (or a superuser), cleared at or above it."""
    cleared = Marking.values[Marking.values.index(marking) :]
    has_role = models.Q(is_superuser=True) | models.Q(groups__name__in=Role.values)
    return User.objects.filter(has_role, is_active=True, clearance__in=cleared).distinct()


def highest_marking(engagements):
    """The highest marking among `engagements` (a queryset), `NU` when it is empty: what a
    page or message that draws on them must be marked. One query."""
    rank = engagements.aggregate(rank=Max("marking_rank"))["rank"]
    return Marking.values[rank or 0]


class Access(NamedTuple):
    groups: frozenset
    permissions: frozenset


# Each account's Access as this process read it, by (account id, access stamp): a change
# of its groups or permissions gives the account a new stamp (accounts/access.py).
# Bounded: emptied when full.
_known_access = {}
MAX_KNOWN_ACCESS = 10_000


class UserQuerySet(models.QuerySet):
    def restrict(self, user, action="view"):
        """The accounts `user` may see and manage: those cleared at or below its own
        clearance, and superusers only to superusers. Every door of the user admin (its
        list, change, password, activation, role, clearance and delete pages, its history
        and what its delete confirmations list) goes through this one rule, read at each
        request: a clearance taken down counts at once."""
        markings = visible_markings(user)
        if not markings:
            return self.none()
        accounts = self.filter(clearance__in=markings)
        return accounts if user.is_superuser else accounts.filter(is_superuser=False)


class AccountManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    clearance = models.CharField(
        "clearance",
        max_length=2,
        choices=Marking.choices,
        default=Marking.NU,
        help_text="The highest marking this user may see or assign.",
    )
    # Replaced by every change of the account's groups or permissions (accounts/access.py).
    access_stamp = models.UUIDField("access stamp", default=uuid.uuid4, editable=False)

    objects = AccountManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(clearance__in=Marking.values),
                name="%(app_label)s_%(class)s_clearance_valid",
            ),
        ]

    @cached_property
    def role(self):
        """The strongest role among the user's groups (superusers count as admin), or None."""
        if self.is_superuser:
            return Role.ADMIN
        for role in (Role.ADMIN, Role.MANAGER, Role.ANALYST):
            if role in self.access.groups:
                return role
        return None

    @cached_property
    def access(self):
        """The names of the user's groups and its permissions ("app_label.codename", its
        groups' and its own): the role and the permission checks
        (accounts.backends.ModelBackend) share it. Read in one query, and only when it
        changed since this process last read it (`accounts.access`)."""
        key = (self.pk, self.access_stamp)
        access = _known_access.get(key)
        if access is None:
            access = self._read_access()
            if len(_known_access) >= MAX_KNOWN_ACCESS:
                _known_access.clear()
            _known_access[key] = access
        return access

    def _read_access(self):
        groups = Group.objects.filter(user=self).values_list(
            "name", "permissions__content_type__app_label", "permissions__codename"
        )
        own = Permission.objects.filter(user=self).values_list(
            Value(None, output_field=CharField()), "content_type__app_label", "codename"
        )
        rows = list(groups.order_by().union(own.order_by(), all=True))
        return Access(
            groups=frozenset(group for group, _, _ in rows if group is not None),
            permissions=frozenset(f"{app}.{code}" for _, app, code in rows if code is not None),
        )

    def may_see(self, marking):
        return marking in visible_markings(self)


class DefaultView(models.Model):
    """The saved view (own or shared) a user's engagement list opens on."""

    user = models.OneToOneField(
        User, verbose_name="user", on_delete=models.CASCADE, related_name="default_view"
    )
    view = models.ForeignKey(
        "SavedView", verbose_name="view", on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        verbose_name = "default list view"

    def __str__(self):
        return f"{self.user}: {self.view}"


class CalendarFeed(models.Model):
    """A user's private calendar address, `/calendar/<token>.ics` (no sign-in: the token
    is the key).

    The token is an HMAC (the project's SECRET_KEY) of a random seed of 256 bits; the
    database keeps the seed and the token's SHA-256, never the token. A feed request is
    looked up by the hash; `/calendar/` shows the address again by recomputing the HMAC.
    So a copy of the database alone opens no feed, and the address can still be shown
    whenever its owner asks. A reset draws a new seed: the old token matches no row.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="user",
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    seed = models.CharField("seed", max_length=64, editable=False)
    token_hash = models.CharField("token hash", max_length=64, unique=True, editable=False)
    reset_at = models.DateTimeField("created or reset at", auto_now=True)

    class Meta:
        verbose_name = "calendar feed"

    def __str__(self):
        return f"Calendar feed of {self.user}"

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @staticmethod
    def make_token(seed):
        return salted_hmac("accounts.CalendarFeed", seed, algorithm="sha256").hexdigest()

    @property
    def token(self):
        return self.make_token(self.seed)

    def reset(self):
        self.seed = secrets.token_urlsafe(32)
        self.token_hash = self.hash(self.token)
        self.save(update_fields=["seed", "token_hash", "reset_at"])

    @classmethod
    def for_user(cls, user):
        """The user's feed, made on first use. Should SECRET_KEY change, the address it
        shows changes with it (and the old one stops working). On the primary database
        (in a transaction), even in a request that reads from a replica, so that a feed
        just made is never made twice."""
        seed = secrets.token_urlsafe(32)
        with transaction.atomic():
            feed, _ = cls.objects.get_or_create(
                user=user, defaults={"seed": seed, "token_hash": cls.hash(cls.make_token(seed))}
            )
            if feed.token_hash != cls.hash(feed.token):
                feed.token_hash = cls.hash(feed.token)
                feed.save(update_fields=["token_hash"])
        return feed

    @classmethod
    def user_for(cls, token):
        """The user whose feed `token` opens, or None (unknown token, or a user who is
        deactivated or has no role: their feed is closed like every other door). Call it
        in a transaction, on the primary: a reset or a role taken away counts at once,
        however far a replica lags."""
        feed = cls.objects.select_related("user").filter(token_hash=cls.hash(token)).first()
        if feed is None or not visible_markings(feed.user):
            return None
        return feed.user


class SavedViewQuerySet(models.QuerySet):
    def for_user(self, user):
        """A user's own views and those shared with the team."""
        return self.filter(models.Q(user=user) | models.Q(shared=True))


class SavedView(models.Model):
    """A named engagement-list query (filters and sort) that a person finds again in the
    navigation, shared with the team or not. The link is the list's URL with `query`."""

    user = models.ForeignKey(
        User, verbose_name="user", on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField("name", max_length=80)
    query = models.CharField(
        "query", max_length=2000, blank=True, help_text="The list's query string, without “?”."
    )
    shared = models.BooleanField(
        "shared with the team",
        default=False,
        help_text="Listed for everyone with a role, with its owner's name; each reader sees "
        "the rows their own clearance allows.",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True)

    objects = SavedViewQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
            models.CheckConstraint(
                condition=~models.Q(name=""), name="%(app_label)s_%(class)s_name_not_empty"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def url(self):
        return reverse("engagements:list") + ("?" + self.query if self.query else "")


class Session(AbstractBaseSession):
    """Django's database session, with the account it signs in (`SESSION_ENGINE` is
    `accounts.sessions`): so that every session of an account can be ended at once, when
    an admin sets its password, deactivates it or takes a role away."""

    user = models.ForeignKey(
        User,
        verbose_name="user",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sessions",
    )
    # Kept by accounts.sessions.SessionLimitMiddleware (for the user's sessions page).
    started_at = models.DateTimeField("started", null=True, blank=True)
    last_seen = models.DateTimeField("last seen", null=True, blank=True)
    address = models.CharField("address", max_length=45, blank=True)
    user_agent = models.CharField("browser", max_length=300, blank=True)

    class Meta(AbstractBaseSession.Meta):
        pass

    def __str__(self):  # never the key: it is the session
        return f"Session of {self.user or 'nobody'} until {self.expire_date:%Y-%m-%d %H:%M}"

    @classmethod
    def get_session_store_class(cls):
        return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


# The audit trail ----------------------------------------------------------------------


class AuditQuerySet(MarkedQuerySet):
    """Entries are appended, never changed; only `prune_audit` deletes, oldest first.
    Admins read them (`view_auditentry`), those within their clearance."""

    def restrict(self, user, action="view"):
        if action != "view" or not user.has_perm("accounts.view_auditentry"):
            return self.none()
        return super().restrict(user, action)

    def update(self, **kwargs):
        raise PermissionError("The audit trail is append-only.")

    def delete(self):
        if not getattr(self, "_pruning", False):
            raise PermissionError(
                "The audit trail is append-only: prune_audit removes old entries."
            )
        return super().delete()

    def for_pruning(self):
        pruning = self._chain()
        pruning._pruning = True
        return pruning


class AuditEntry(models.Model):
    """Who did what to what, when, from where, and how it ended: one entry per sign-in,
    sign-out and failed sign-in, per read of an engagement, per download, per change to an
    account (accounts/audit.py writes them). Each entry carries the SHA-256 of its content
    and of the previous entry's hash (`hash`), so that an entry changed or removed breaks
    the chain (`manage.py verify_audit`)."""

    sequence = models.PositiveBigIntegerField("sequence", unique=True)
    at = models.DateTimeField("at", default=timezone.now)
    # The user's id and name as they were: a deleted account leaves its entries unchanged.
    user = models.ForeignKey(
        User,
        verbose_name="user",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    username = models.CharField("username", max_length=150, blank=True)
    action = models.CharField("action", max_length=30)
    object_type = models.CharField("object type", max_length=40, blank=True)
    object_id = models.CharField("object id", max_length=64, blank=True)
    marking = models.CharField("marking", max_length=2, choices=Marking.choices, default=Marking.NU)
    address = models.CharField("address", max_length=45, blank=True)
    outcome = models.CharField("outcome", max_length=10, default="ok")
    detail = models.JSONField("detail", default=dict, blank=True)
    previous_hash = models.CharField("previous hash", max_length=64)
    hash = models.CharField("hash", max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-sequence"]
        indexes = [
            models.Index(fields=["at"], name="audit_at_idx"),
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            # By name, newest first, as the list's `user` filter and the sign-in notice ask
            # (the entries keep the name a deleted account had).
            models.Index(fields=["username", "-at"], name="audit_user_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '—'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit trail is append-only: prune_audit removes old entries.")

    def content(self):
        """What the hash covers, as canonical JSON."""
        head, tail = self.content_around_sequence()
        return f"{head}{self.sequence}{tail}"

    def content_around_sequence(self):
        """`content()` before and after the sequence's digits: an append on PostgreSQL has
        the database join them around the sequence it takes (accounts/audit.py), so that
        both follow this one recipe. Canonical JSON of a dict is its keys' pairs in order,
        and "sequence" sorts between "outcome" and "user"."""
        fields = {
            "at": self.at.isoformat(),
            "user": self.user_id,
            "username": self.username,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "marking": self.marking,
            "address": self.address,
            "outcome": self.outcome,
            "detail": self.detail,
        }

        def canonical(names):
            part = {name: fields[name] for name in names}
            return json.dumps(part, sort_keys=True, separators=(",", ":"), default=str)[1:-1]

        before = [name for name in fields if name < "sequence"]
        after = [name for name in fields if name > "sequence"]
        return "{" + canonical(before) + ',"sequence":', "," + canonical(after) + "}"

    def computed_hash(self):
        return hashlib.sha256((self.previous_hash + self.content()).encode()).hexdigest()

    # The contract's shape of an entry (the API's and the log line's): `user` is the name.
    SHOWN = [
        "id",
        "at",
        "user",
        "action",
        "object_type",
        "object_id",
        "marking",
        "address",
        "outcome",
        "detail",
    ]

    def as_dict(self):
        """The entry in the contract's shape."""
        return {
            name: (self.username or None) if name == "user" else getattr(self, name)
            for name in self.SHOWN
        }


class AuditChain(models.Model):
    """The chain's end, one row: the last entry's sequence and hash (locked by each append,
    so that entries are chained in one order), and the hash of the last entry pruned."""

    last_sequence = models.PositiveBigIntegerField("last sequence", default=0)
    last_hash = models.CharField("last hash", max_length=64, default="0" * 64)
    pruned_hash = models.CharField("hash of the last pruned entry", max_length=64, default="0" * 64)
    pruned_sequence = models.PositiveBigIntegerField("last pruned sequence", default=0)
    # The hash before the last entry's (its `previous_hash`): one UPDATE moves the end on and
    # still answers what it was, since every SET reads the row as it was.
    previous_hash = models.CharField("previous hash", max_length=64, default="0" * 64)

    class Meta:
        verbose_name = "audit chain"

    def __str__(self):
        return f"Audit chain up to entry {self.last_sequence}"


class TokenActivity(models.Model):
    """Where and when an API token was last used (the user's sessions page lists it);
    kept by accounts.authentication.TokenAuthentication, at most once a minute."""

    token = models.OneToOneField(
        "knox.AuthToken",
        verbose_name="token",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="activity",
    )
    last_seen = models.DateTimeField("last seen")
    address = models.CharField("address", max_length=45, blank=True)
    user_agent = models.CharField("client", max_length=300, blank=True)

    class Meta:
        verbose_name = "token activity"
        verbose_name_plural = "token activity"

    def __str__(self):
        return f"Token last used {self.last_seen:%Y-%m-%d %H:%M}"
