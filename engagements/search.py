"""One search over what the tracker holds (`/search/` and `GET /api/v1/search/`): partners
(names, other names, codes), people (names, titles, email addresses), engagements (title,
summary, outcomes, location, and the names of their partners) and notes, only as the
reader may see them, ranked.

Every word typed must be found (in any of those texts, or as a partner's name). When
nothing is, a word of five letters or more that is found nowhere is taken for a typo: the
texts are asked for
words at most one edit away from it (a letter changed, added, dropped, or two swapped)
and the search is run with the word found instead ("maritme" finds "maritime").

On PostgreSQL the texts are searched through the trigram indexes of the list's search
(engagements/migrations/0006 and 0008): a word that matches nothing costs a few index
probes, a common word reads only the newest matches (CANDIDATES), which are then ranked.
The typo's candidates come from the same indexes (pg_trgm's word similarity). SQLite has
no trigram index: there the typo's candidates are the newest engagements' and notes'
words (FALLBACK_ROWS), and every search is a scan: a simpler fallback for `make run`.
"""

import re
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import BooleanField, Func, Q, Value
from django.db.models.functions import Upper

from engagements.models import Engagement, Note
from partners.models import Partner
from people.models import Person

CANDIDATES = 200  # the newest matching engagements ranked (of a common word)
RESULTS = 50  # results returned, best first
FALLBACK_ROWS = 2000  # SQLite: rows whose words a typo is compared with
TYPO_MIN_LENGTH = 5
# pg_trgm's word similarity below which a text is not asked whether it holds the word
# meant: one typo leaves 0.3 or more for nearly every word of five letters or more (two
# letters swapped in the middle of "maritime" leave 0.38; a few short words fall to 0.2
# and are found only among the other candidates' words).
TYPO_SIMILARITY = 0.3
WORD = re.compile(r"\w+")
TEXTS = ("title", "summary", "outcomes", "location")


@dataclass
class Hit:
    kind: str
    id: object
    title: str
    snippet: str
    url: str
    score: float
    marking: str = "NU"

    def as_dict(self):
        return {
            "kind": self.kind,
            "id": self.id,
            "title": self.title,
            "snippet": self.snippet,
            "url": self.url,
        }


def search(user, text):
    """(hits, corrected): the ranked hits for `text` as `user` may see them, and the words
    taken for typos with what was searched instead ({typed: found})."""
    words = [word.lower() for word in WORD.findall(text)][:8]
    if not words:
        return [], {}
    hits = _found(user, words)
    corrected = {}
    if not hits:  # a word found nowhere may be a typo
        for word in words:
            # One word found nowhere was just searched for; of several, each is looked for.
            alone = len(words) == 1 or not _found(user, [word])
            if len(word) >= TYPO_MIN_LENGTH and alone:
                replacement = _nearest_word(user, word)
                if replacement:
                    corrected[word] = replacement
        if corrected:
            hits = _found(user, [corrected.get(word, word) for word in words])
    return hits, corrected


def _found(user, words):
    hits = _partners(words) + _people(user, words) + _engagements(user, words) + _notes(user, words)
    hits.sort(key=lambda hit: -hit.score)
    return hits[:RESULTS]


# Each kind ------------------------------------------------------------------------------


def _partners(words):
    partners = Partner.objects.all()
    for word in words:
        partners = partners.search(word)
    hits = []
    for partner in partners:
        exact = any(word in (partner.code.lower(), partner.name.lower()) for word in words)
        hits.append(
            Hit(
                kind="partner",
                id=partner.code,
                title=partner.name,
                snippet=", ".join(filter(None, [partner.code, partner.aliases])),
                url=partner.get_absolute_url(),
                score=10 + (10 if exact else 0),
            )
        )
    return hits


def _people(user, words):
    people = Person.objects.restrict(user).select_related("partner")
    for word in words:
        people = people.search(word)
    hits = []
    for person in people.order_by("name", "id")[:CANDIDATES]:
        named = all(word in person.name.lower() for word in words)
        hits.append(
            Hit(
                kind="person",
                id=person.pk,
                title=person.name,
                snippet=", ".join(
                    filter(None, [person.title, person.partner.name if person.partner else ""])
                ),
                url=person.get_absolute_url(),
                score=8 + (8 if named else 0),
                marking=person.marking,
            )
        )
    return hits


def _engagements(user, words):
    engagements = Engagement.objects.restrict(user)
    for word in words:
        engagements = engagements.matching(word)
    found = engagements.order_by("-start_date", "-id").only(*TEXTS, "start_date", "marking")
    hits = []
    for rank, engagement in enumerate(found[:CANDIDATES]):
        score = 0.0
        for word in words:
            if word in engagement.title.lower():
                score += 3
            elif any(word in (getattr(engagement, name) or "").lower() for name in TEXTS):
                score += 1
            else:  # found through a partner's name
                score += 2
        hits.append(
            Hit(
                kind="engagement",
                id=engagement.pk,
                title=engagement.title,
                snippet=_snippet(engagement, words),
                url=engagement.get_absolute_url(),
                score=score - rank / CANDIDATES,  # the newer first among equals
                marking=engagement.marking,
            )
        )
    return hits


def _notes(user, words):
    notes = Note.objects.restrict(user).select_related("engagement", "partner")
    for word in words:
        notes = notes.filter(body__icontains=word)
    hits = []
    for rank, note in enumerate(notes.order_by("-at", "-id")[:CANDIDATES]):
        on = note.engagement or note.partner
        hits.append(
            Hit(
                kind="note",
                id=note.pk,
                title=f"Note on {on}",
                snippet=_window(note.body, words),
                url=on.get_absolute_url() + "#notes",
                score=len(words) - rank / CANDIDATES,
                marking=note.marking,
            )
        )
    return hits


def _snippet(engagement, words):
    for name in ("summary", "outcomes", "location", "title"):
        text = getattr(engagement, name) or ""
        if any(word in text.lower() for word in words):
            return _window(text, words)
    return (engagement.summary or "")[:160]


def _window(text, words, width=160):
    """About `width` characters of `text` around the first word found in it."""
    lowered = text.lower()
    found = [lowered.find(word) for word in words if word in lowered]
    start = max(0, min(found) - width // 3) if found else 0
    piece = text[start : start + width].strip()
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


# Typos ----------------------------------------------------------------------------------


def _nearest_word(user, word):
    """A word of the texts `user` may see at most one edit from `word` (the most frequent
    among the candidates), or None."""
    counts = {}
    for text in _typo_candidates(user, word):
        for candidate in WORD.findall(text.lower()):
            if candidate != word and one_edit_apart(word, candidate):
                counts[candidate] = counts.get(candidate, 0) + 1
    return max(counts, key=lambda candidate: (counts[candidate], candidate)) if counts else None


def _typo_candidates(user, word):
    """Texts that may hold a word one edit from `word`: partners' names, the visible
    people's names and titles (the first FALLBACK_ROWS), and the visible engagements' and
    notes' texts that the trigram indexes find similar (PostgreSQL), or the newest ones
    (SQLite)."""
    for name, aliases in Partner.objects.values_list("name", "aliases"):
        yield f"{name} {aliases}"
    for name, title in Person.objects.restrict(user).values_list("name", "title")[:FALLBACK_ROWS]:
        yield f"{name} {title}"
    engagements = Engagement.objects.restrict(user)
    notes = Note.objects.restrict(user)
    if connections[engagements.db].vendor == "postgresql":
        similar = Q()
        for name in TEXTS:
            similar |= Q(WordSimilar(word, name))
        with transaction.atomic(using=engagements.db):
            with connections[engagements.db].cursor() as cursor:
                # For this transaction only: the threshold, and the trigram indexes rather
                # than a scan (the planner expects many similar rows and reads the whole
                # table for a word that has none).
                cursor.execute(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true),"
                    " set_config('enable_seqscan', 'off', true)",
                    [str(TYPO_SIMILARITY)],
                )
            rows = list(engagements.filter(similar).values_list(*TEXTS)[:CANDIDATES])
            notes = list(
                notes.filter(WordSimilar(word, "body")).values_list("body", flat=True)[:CANDIDATES]
            )
    else:
        rows = engagements.order_by("-start_date").values_list(*TEXTS)[:FALLBACK_ROWS]
        notes = notes.order_by("-at").values_list("body", flat=True)[:FALLBACK_ROWS]
    for row in rows:
        yield " ".join(text or "" for text in row)
    yield from notes


class WordSimilar(Func):
    """pg_trgm's `UPPER(word) <% UPPER(column)`: the column holds a word similar to `word`
    (word similarity at least pg_trgm.word_similarity_threshold), as the trigram indexes on
    UPPER(column) can answer. PostgreSQL only."""

    arg_joiner = " <%% "
    template = "(%(expressions)s)"
    output_field = BooleanField()

    def __init__(self, word, column):
        super().__init__(Value(word.upper()), Upper(column))


def one_edit_apart(a, b):
    """Whether `b` is `a` with one letter changed, added or dropped, or two neighbours
    swapped (Damerau–Levenshtein distance 1)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i in range(len(a)) if a[i] != b[i]]
        if len(differ) == 1:
            return True
        return (
            len(differ) == 2
            and differ[1] == differ[0] + 1
            and a[differ[0]] == b[differ[1]]
            and a[differ[1]] == b[differ[0]]
        )
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
