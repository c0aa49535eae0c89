"""The one redactor: free text leaves the database only after the identities it may carry are cut out.

Staff type free text (a withdraw reason, an action note, a family's words) and it is stored as written,
because it is the council's record. Every path by which such text leaves the database (mail, invites,
the report, case-note exports, event details, logs, web pages reached by a link) passes it through a
`Redactor` first, built for the children the text concerns (and their family contacts) or, where that
is unclear, for the whole caseload. It removes:

- the names of the children concerned and their contacts, in any case, with accents folded and Unicode
  normalised: each part of a multi-part first or last name on its own, so hyphenated, spaced and double
  names go part by part (a name becomes its initial, which the framework allows in mail); any other
  child's or contact's name (a sibling, a friend) wherever it is written with a capital;
- any date that is the date of birth of a child concerned, written in any common UK way;
- every phone number, whatever its format (Google's `phonenumbers` matcher), not only stored ones;
- every email address that is not a staff member's.

What it cannot be sure of it removes rather than keeps: a numeric date is read both day-first and
month-first, a two-digit year in both centuries, and a number the matcher may read as a phone goes.
"""
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from auditcycle.core.text import Redacted
from auditcycle.models import Child, FamilyContact, Staff
from auditcycle.storage.transactions import transaction_info

__all__ = ["WITHHELD", "Redacted", "Redactor", "caseload_names", "fold", "name_parts", "readings", "redactors_for"]

WITHHELD = "[removed]"
# A name part this short ("Jo", "Al") is still cut, but a single letter is already an initial.
MIN_PART = 2
CHUNK = 500
_MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), start=1) for name in names}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATES = re.compile("|".join((
    r"(?<!\d)(?P<a>\d{1,4})(?P<sep>[./\-\s]{1,2})(?P<b>\d{1,2})(?P=sep)(?P<c>\d{2,4})(?!\d)",
    rf"(?<!\d)(?P<day1>\d{{1,2}}){_ORDINAL}\s*(?:of\s+)?(?P<month1>{_MONTH})[\s,]*(?P<year1>\d{{2,4}})(?!\d)",
    rf"(?P<month2>{_MONTH})\s*(?P<day2>\d{{1,2}}){_ORDINAL}[\s,]*(?P<year2>\d{{2,4}})(?!\d)",
)), re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_WORD = re.compile(r"\w+")
# Our own references (case ids, AUD-, ACT-, IR- numbers) hold digits a phone matcher would take.
_REFERENCE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")


def fold(text: str) -> str:
    """Return text as names are compared: Unicode-normalised, accents removed and case folded."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_parts(name: str) -> set[str]:
    """Return the folded parts of a name that are each cut on their own.

    "Mary-Jane O'Neill" gives "mary", "jane", "neill", and the joined spellings "maryjane" and "oneill".
    """
    words = fold(name).split()
    parts = {part for word in words for part in _WORD.findall(word)}
    parts |= {"".join(_WORD.findall(word)) for word in words}
    return {part for part in parts if len(part) >= MIN_PART}


def _years(written: str) -> tuple[int, ...]:
    year = int(written)
    if len(written) == 2:
        return 1900 + year, 2000 + year
    return (year,) if len(written) == 4 else ()


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def readings(match: re.Match) -> set[date]:
    """Return every date a written date could mean: day-first, month-first and year-first, both centuries."""
    parts = match.groupdict()
    found: set[date | None] = set()
    if parts["a"] is not None:
        a, b, c = parts["a"], parts["b"], parts["c"]
        if len(a) == 4 and len(c) <= 2:
            found.add(_day(int(a), int(b), int(c)))
        elif len(a) <= 2:
            for year in _years(c):
                found.update({_day(year, int(b), int(a)), _day(year, int(a), int(b))})
    else:
        for n in "12":
            if parts[f"month{n}"] is not None:
                month = _MONTHS[parts[f"month{n}"].rstrip(".").casefold()]
                found.update(_day(year, month, int(parts[f"day{n}"])) for year in _years(parts[f"year{n}"]))
    return {d for d in found if d is not None}


@dataclass(frozen=True)
class Redactor:
    """Cut the names, birth dates, phone numbers and non-staff email addresses of a scope out of text."""

    names: frozenset[str] = frozenset()
    birthdays: frozenset[date] = frozenset()
    staff_emails: frozenset[str] = frozenset()
    # Everyone else's name parts, cut where written with a capital: a sibling or a friend named in a note.
    others: frozenset[str] = frozenset()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_children(cls, session: Session, child_ids: Iterable[str]) -> "Redactor":
        """Build the redactor for text about these children: theirs and their family contacts' identities."""
        found = _identities(session, sorted(set(child_ids)))
        return cls(frozenset().union(*(names for names, _ in found.values())),
                   frozenset().union(*(born for _, born in found.values())), _staff_emails(session),
                   caseload_names(session))

    @classmethod
    def about(cls, session: Session, child: Child | None) -> "Redactor":
        """Build the redactor for text about a loaded child (theirs and their contacts'); None means the caseload."""
        if child is None:
            return cls.for_caseload(session)
        names = name_parts(child.first_name) | name_parts(child.last_name)
        names.update(*(name_parts(contact.name) for contact in child.contacts))
        return cls(frozenset(names), frozenset({child.date_of_birth}), _staff_emails(session), caseload_names(session))

    @classmethod
    def for_caseload(cls, session: Session) -> "Redactor":
        """Build the redactor for text whose child is not known: every child's and contact's identity."""
        info = transaction_info(session)
        if "caseload redactor" not in info:
            born = frozenset(session.scalars(select(Child.date_of_birth).distinct()))
            info["caseload redactor"] = cls(caseload_names(session), born, _staff_emails(session))
        return info["caseload redactor"]

    def __call__(self, text: str | None) -> Redacted:
        """Return the text with the scope's identities cut out (an empty text for None)."""
        if not text:
            return Redacted("")
        if (done := self._cache.get(text)) is not None:
            return done
        cleaned = unicodedata.normalize("NFC", text)
        cleaned = _EMAIL.sub(self._email, cleaned)
        cleaned = _DATES.sub(self._date, cleaned)
        cleaned = self._phones(cleaned)
        cleaned = self._names(cleaned)
        done = self._cache[text] = Redacted(cleaned)
        return done

    def optional(self, text: str | None) -> Redacted | None:
        """Return the redacted text, or None for no text."""
        return self(text) if text else None

    def _email(self, match: re.Match) -> str:
        return match.group(0) if match.group(0).casefold() in self.staff_emails else WITHHELD

    def _date(self, match: re.Match) -> str:
        return WITHHELD if readings(match) & self.birthdays else match.group(0)

    @staticmethod
    def _phones(text: str) -> str:
        # A date that is not a birth date stays, so the matcher may not read its digits as a phone.
        dates = [m.span() for m in _DATES.finditer(text)]
        cuts = []
        for found in phonenumbers.PhoneNumberMatcher(text, "GB", leniency=phonenumbers.Leniency.POSSIBLE):
            if any(found.start < end and start < found.end for start, end in dates) \
                    or _inside_reference(text, found.start, found.end):
                continue
            cuts.append((found.start, found.end))
        for start, end in reversed(cuts):
            text = text[:start] + WITHHELD + text[end:]
        return text

    def _names(self, text: str) -> str:
        folded, origin = _folded_with_origin(text)
        out, last = [], 0
        for word in _WORD.finditer(folded):
            if word.group(0) in self.names or (word.group(0) in self.others and text[origin[word.start()]].isupper()):
                start = origin[word.start()]
                end = origin[word.end()] if word.end() < len(folded) else len(text)
                out.append(text[last:start] + text[start].upper() + ".")
                last = end
        out.append(text[last:])
        return "".join(out)


def _folded_with_origin(text: str) -> tuple[str, list[int]]:
    """Fold text character by character, keeping for each folded character the index it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for piece in fold(char):
            folded.append(piece)
            origin.append(index)
    return "".join(folded), origin


def _inside_reference(text: str, start: int, end: int) -> bool:
    """Say whether digits the phone matcher found sit inside one of our references, like C000123 or ACT-…-0001."""
    left = start
    while left > 0 and (text[left - 1].isalnum() or text[left - 1] == "-"):
        left -= 1
    right = end
    while right < len(text) and (text[right].isalnum() or text[right] == "-"):
        right += 1
    token = text[left:right]
    return left < start and any(c.isalpha() for c in token[:start - left]) and bool(_REFERENCE.fullmatch(token))


def _staff_emails(session: Session) -> frozenset[str]:
    info = transaction_info(session)
    if "staff emails" not in info:
        info["staff emails"] = frozenset(e.casefold() for e in session.scalars(select(Staff.email)) if e)
    return info["staff emails"]


def redactors_for(session: Session, child_ids: Iterable[str]) -> dict[str, Redactor]:
    """Build one redactor per child, sharing the staff list, for a batch of texts each about one child."""
    staff = _staff_emails(session)
    others = caseload_names(session)
    return {child_id: Redactor(frozenset(names), frozenset(born), staff, others)
            for child_id, (names, born) in _identities(session, sorted(set(child_ids))).items()}


_CASELOAD_NAMES: dict[str, tuple[tuple, frozenset[str]]] = {}


def caseload_names(session: Session) -> frozenset[str]:
    """Return the name parts of every child and family contact, read again whenever the caseload has changed."""
    info = transaction_info(session)
    if "caseload names" in info:
        return info["caseload names"]
    # Reading 200,000 names for every decision would be slow; their count and length say when to read again.
    signature = (tuple(session.execute(select(func.count(), func.sum(func.length(Child.first_name)
                                                                       + func.length(Child.last_name)))).one()),
                 tuple(session.execute(select(func.count(), func.sum(func.length(FamilyContact.name)))).one()))
    url = str(session.get_bind().url)
    cached = _CASELOAD_NAMES.get(url)
    if cached is None or cached[0] != signature:
        names: set[str] = set()
        for first, last in session.execute(select(Child.first_name, Child.last_name)):
            names |= name_parts(first) | name_parts(last)
        names.update(*(name_parts(n) for n in session.scalars(select(FamilyContact.name))))
        cached = _CASELOAD_NAMES[url] = (signature, frozenset(names))
    info["caseload names"] = cached[1]
    return cached[1]


def _identities(session: Session, ids: list[str]) -> dict[str, tuple[set[str], set[date]]]:
    """Read each child's name parts (with their family contacts') and date of birth."""
    found: dict[str, tuple[set[str], set[date]]] = {i: (set(), set()) for i in ids}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for child_id, first, last, born in session.execute(
                select(Child.id, Child.first_name, Child.last_name, Child.date_of_birth).where(Child.id.in_(chunk))):
            found[child_id][0].update(name_parts(first) | name_parts(last))
            found[child_id][1].add(born)
        for child_id, name in session.execute(select(FamilyContact.child_id, FamilyContact.name)
                                              .where(FamilyContact.child_id.in_(chunk))):
            found[child_id][0].update(name_parts(name))
    return found
