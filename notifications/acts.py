"""What each kind of link asks its holder to do, in plain words: the one place a purpose is described."""

# purpose -> how the act reads after "You can use this link to" / in a list of acts; {ref} is the record.
ACTS: dict[str, str] = {
    "action-done": "record action {ref} as done",
    "action-sign-off": "sign off action {ref}",
    "audit-form": "fill in, save and submit the audit form for {ref}",
    "buddy-review": "agree with or comment on the new auditor's form for {ref}",
    "approve-list": "review and approve the audit list {ref}",
    "family-contact": "say how to reach the family for audit {ref}",
    "ir-respond": "respond to Immediate Response {ref}",
    "dispute": "dispute the grade of audit {ref}",
    "supervision-discussed": "record that audit {ref} was discussed at supervision",
    "moderate": "record the moderation of audit {ref}",
    "agree-moderation": "agree the moderated grade of audit {ref}",
    "observe-done": "record observation {ref} as done",
    "mad-approve": "check, edit and approve the Make a Difference summary {ref}",
    "mad-nominate": "nominate the key worker of audit {ref} for a Make a Difference interview",
    "questionnaire": "answer the new-auditor questionnaire about your first audit, {ref}",
    # {ref} is the meeting's reference and the invite's sequence: an answer to one version of its time.
    "meeting-cant-make": "say you cannot make the time of meeting {ref}",
    "supervision-gap": "confirm or dismiss the supervision gap on audit {ref}",
    "sign-in": "sign in to the audit console",
    # {ref} is the audit month and the service asked (GP-2027-01-S3).
    "good-practice": "nominate a child's record as an example of good practice ({ref})",
    "trend-follow-up": "record the follow-up to audit trend {ref}",
}

# Acts only their holder can do (their own feedback, their own sign-in, their own attendance at a meeting):
# a leaver's are withdrawn, not handed to anyone else.
PERSONAL_ACTS = frozenset({"questionnaire", "sign-in", "meeting-cant-make"})


def describe_act(purpose: str, subject_ref: str) -> str:
    """Say in plain words what a link for this purpose and record lets its holder do."""
    return ACTS.get(purpose, f"{purpose.replace('-', ' ')} ({{ref}})").format(ref=subject_ref)
