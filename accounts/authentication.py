"""API token authentication: django-rest-knox's, noting where and when each token was last
used (`TokenActivity`, listed on the user's sessions page).

Kept apart from accounts/api.py: DRF reads its authentication classes while it is still
loading its views, so this module must not import them."""

import binascii
import functools
import time
from hmac import compare_digest

from django.core.cache import cache
from django.db import connections, router
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework.exceptions import AuthenticationFailed

from accounts.models import TokenActivity, User

# A token's "last seen" is written as often as a session's (each write is a database
# write; the shared cache remembers the last one, so that most requests query nothing).
from accounts.sessions import SEEN_EVERY_SECONDS
from core.addresses import client_address
from core.db import along_with_token, keep_read_along, prepared_cursor

# When this process last asked the shared cache about each token (by its digest): it asks
# again only SEEN_EVERY_SECONDS later, so most API calls make no round trip for it.
_asked = {}


def note_token_use(token, request, started=False):
    """Record that `token` was used by `request` now (or was issued by it: `started`)."""
    if not started:
        moment = time.monotonic()
        if moment - _asked.get(token.digest, -SEEN_EVERY_SECONDS) < SEEN_EVERY_SECONDS:
            return
        if len(_asked) >= 10_000:
            _asked.clear()
        _asked[token.digest] = moment
    now = timezone.now()
    values = {
        "last_seen": now,
        "address": (client_address(request) or "")[:45],
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
    }
    if started:
        TokenActivity.objects.update_or_create(token=token, defaults=values)
    elif cache.add(f"token-seen:{token.pk}", True, SEEN_EVERY_SECONDS):
        TokenActivity.objects.filter(token=token).update(**values)


def remove_expired_tokens(user):
    """Delete `user`'s expired tokens (done when a token is issued: see below)."""
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()


# The columns read for a token and for its user (all of them, as select_related would).
TOKEN_FIELDS = [field.attname for field in AuthToken._meta.concrete_fields]
USER_FIELDS = [field.attname for field in User._meta.concrete_fields]


def tokens_with_their_users(token_key):
    """The tokens starting with `token_key`, each with its user and what is read along with
    it (core.db.read_along_with_token: {name: value}), in one query. Asked on every API
    call, so in plain SQL (the ORM's compiling of this join costs more than running it),
    planned once per connection (`prepared_cursor`)."""
    database = router.db_for_read(AuthToken)
    connection = connections[database]
    sql, converters, along = _token_query(database)
    with prepared_cursor(database) as cursor:
        cursor.execute(sql, [token_key])
        rows = cursor.fetchall()
    for row in rows:
        values = [
            _converted(value, column, functions, connection)
            for (column, functions), value in zip(converters, row[: len(converters)], strict=True)
        ]
        auth_token = AuthToken.from_db(database, TOKEN_FIELDS, values[: len(TOKEN_FIELDS)])
        auth_token.user = User.from_db(database, USER_FIELDS, values[len(TOKEN_FIELDS) :])
        yield auth_token, dict(zip(along, row[len(converters) :], strict=True))


@functools.cache
def _token_query(database):
    """The query's SQL on `database`, the converters of each column of the token and the
    user (as the ORM converts a value: the database's converters, then the field's), and
    the names of the values read along."""
    connection = connections[database]
    quote = connection.ops.quote_name
    selected = [(AuthToken, name) for name in TOKEN_FIELDS] + [(User, name) for name in USER_FIELDS]

    def column(model, name):
        field = model._meta.get_field(name)
        return f"{quote(model._meta.db_table)}.{quote(field.column)}"

    columns = [column(model, name) for model, name in selected]
    along = along_with_token()
    columns += [f"({expression})" for _, expression in along]
    sql = (
        f"SELECT {', '.join(columns)} "
        f"FROM {quote(AuthToken._meta.db_table)} INNER JOIN {quote(User._meta.db_table)} "
        f"ON {column(User, 'id')} = {column(AuthToken, 'user_id')} "
        f"WHERE {column(AuthToken, 'token_key')} = %s"
    )
    converters = []
    for model, name in selected:
        col = model._meta.get_field(name).cached_col
        converters.append(
            (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        )
    return sql, converters, [name for name, _ in along]


def _converted(value, column, converters, connection):
    for converter in converters:
        value = converter(value, column, connection)
    return value


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token check in one query. knox's own also reads every token of the user on
    each request, to delete the expired ones: a second query on every API call, for work
    done instead when a token is issued (`remove_expired_tokens`). An expired token is
    refused (and deleted) as knox refuses it."""

    def authenticate_credentials(self, token):
        refused = AuthenticationFailed("Invalid token.")
        token = token.decode()
        try:
            digest = hash_token(token)
        except (TypeError, binascii.Error):
            raise refused from None
        for auth_token, along in tokens_with_their_users(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if compare_digest(digest, auth_token.digest):
                if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                    auth_token.delete()
                    raise refused
                user, auth_token = self.validate_user(auth_token)
                keep_read_along(auth_token._state.db, along)
                return user, auth_token
        raise refused

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            note_token_use(result[1], request)
        return result
