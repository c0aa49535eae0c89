"""What each kind of link asks its holder to do, in plain words: the one place a purpose is described."""

# purpose -> how the act reads after "You can use this link to" / in a list of acts; {ref} is the record.
ACTS: dict[str, str] = {
    "action-done": "record action {ref} as done",
    "action-sign-off": "sign off action {ref}",
    "audit-form": "fill in, save and submit the audit form for {ref}",
    "buddy-review": "agree with or comment on the new auditor's form for {ref}",
}


def describe_act(purpose: str, subject_ref: str) -> str:
    """Say in plain words what a link for this purpose and record lets its holder do."""
    return ACTS.get(purpose, f"{purpose.replace('-', ' ')} ({{ref}})").format(ref=subject_ref)
