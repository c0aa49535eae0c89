"""Whether the receiving server found a message's sender genuine: its Authentication-Results header (RFC 8601).

Anyone can mail a forged REPLY, so a reply is trusted only when the council's receiving server says DMARC
passed for the attendee's domain. The header trusted is the topmost one that server wrote (it adds its own
above everything the message arrived with, and strips copies claiming its name): settings name it by its
authserv-id. Exchange Online writes its header with no authserv-id; the setting "exchange-online" names that.
"""
import re
from collections.abc import Iterable

EXCHANGE_ONLINE = "exchange-online"
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([a-z0-9-]+)\s*(?:/\s*\d+)?\s*=\s*([a-z]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b([a-z]+\.[a-z0-9-]+)\s*=\s*\"?([^\s;\"]+)\"?", re.IGNORECASE)


def _without_comments(value: str) -> str:
    # Comments nest (RFC 5322 CFWS): strip the innermost until none is left.
    previous = None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def parse(header: str) -> tuple[str, list[tuple[str, str, dict[str, str]]]]:
    """Split an Authentication-Results value into its authserv-id ('' if none) and (method, result, properties)."""
    parts = [p.strip() for p in _without_comments(" ".join(str(header).split())).split(";")]
    authserv = ""
    if parts and "=" not in parts[0]:
        authserv = parts.pop(0).split()[0].lower() if parts[0] else ""
    results = []
    for part in parts:
        if (found := _RESULT.match(part)) is None:
            continue
        props = {name.lower(): value.lower() for name, value in _PROPERTY.findall(part[found.end():])}
        results.append((found.group(1).lower(), found.group(2).lower(), props))
    return authserv, results


def trusted_results(headers: Iterable[str], authserv_id: str) -> list[tuple[str, str, dict[str, str]]] | None:
    """Return the results of the topmost header the named receiving server wrote, or None if it wrote none."""
    wanted = "" if authserv_id.lower() == EXCHANGE_ONLINE else authserv_id.lower()
    for header in headers:
        authserv, results = parse(header)
        if authserv == wanted:
            return results
    return None


def dmarc_problem(headers: Iterable[str], *, authserv_id: str, domain: str) -> str | None:
    """Say why DMARC did not pass for a domain by the trusted server's header, or None when it did."""
    results = trusted_results(headers, authserv_id)
    if results is None:
        return f"no Authentication-Results header from {authserv_id}"
    dmarc = [(result, props) for method, result, props in results if method == "dmarc"]
    if not dmarc:
        return f"{authserv_id} recorded no DMARC result"
    domain = domain.lower()
    for result, props in dmarc:
        if result == "pass" and props.get("header.from") == domain:
            return None
    seen = ", ".join(f"{result} for {props.get('header.from', 'no domain')}" for result, props in dmarc)
    return f"DMARC did not pass for {domain} ({authserv_id} recorded {seen})"
