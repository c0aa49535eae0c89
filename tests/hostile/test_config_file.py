"""Hostile TOML configuration (AUDITCYCLE_CONFIG): refused with the file and setting named, or read as given."""
from pathlib import Path

from auditcycle.core.settings import Settings, get_settings
from hostile.checks import assert_ok, assert_refused, fingerprint, invoke
from hostile.corpus import BIG_TEXT

KIND = "TOML config"
GOOD = "[framework]\naction_max_days = 20\n"

# (name, content or None for "no such file", refused?, fragments the error must contain)
CASES = [
    ("valid", GOOD, False, ()),
    ("utf8_bom", "\ufeff" + GOOD, False, ()),
    ("empty", "", False, ()),
    ("ten_mb_of_comments", "# " + BIG_TEXT + "\n" + GOOD, False, ()),
    ("html_in_grade_labels", '[framework.grades]\noutstanding = "<b>Outstanding</b>"\ngood = "Good <script>x</script>"\n'
     'requires_improvement = "RI"\ninadequate = "Inadequate"\n', False, ()),
    ("utf16", GOOD.encode("utf-16"), True, ("not UTF-8",)),
    ("latin1", 'mail_from_name = "Équipe QA"\n'.encode("latin-1"), True, ("not UTF-8",)),
    ("nul_byte", 'mail_from_name = "QA\x00"\n', True, ("not valid TOML", "line 1")),
    ("broken_syntax", "[framework\naction_max_days = 20\n", True, ("not valid TOML", "line 1")),
    ("duplicate_key", "[framework]\naction_max_days = 20\naction_max_days = 21\n", True, ("not valid TOML",)),
    ("deeply_nested", "x = " + "[" * 5000 + "]" * 5000 + "\n", True, ("nested too deeply",)),
    ("wrong_type", '[framework]\naction_max_days = "soon"\n', True, ("framework.action_max_days", "integer")),
    ("number_out_of_range", "[framework]\naction_max_days = 0\n", True, ("framework.action_max_days",)),
    ("huge_integer", "[framework]\naction_max_days = 99999999999999999999\n", True, ("framework.action_max_days",)),
    ("float_for_int", "[framework]\naction_max_days = 1.5\n", True, ("framework.action_max_days",)),
    ("negative_offsets", "[framework]\nreminder_offsets_working_days = [-1]\n", True,
     ("reminder_offsets_working_days",)),
    ("weekday_8", "[framework]\nworking_weekdays = [8]\n", True, ("working_weekdays",)),
    ("day_ends_before_start", '[framework]\nworking_day_start = "17:00"\nworking_day_end = "09:00"\n', True,
     ("working_day_end must be after",)),
    ("hour_25", '[framework]\nworking_day_start = "25:00"\n', True, ("framework.working_day_start",)),
    ("no_domains", "[framework.domains]\n", True, ("at least one domain",)),
    ("unknown_top_level_key", "colour = 1\n", True, ("colour", "Extra inputs")),
    ("misspelt_framework_key", "[framework]\naction_max_day = 20\n", True, ("framework.action_max_day",)),
    ("unknown_ladder_key", "[[framework.action_ladder]]\nafter_working_days = 1\nnotify = [\"owner\"]\nwho = 1\n",
     True, ("action_ladder.0.who",)),
    ("unknown_ladder_role", "[[framework.action_ladder]]\nafter_working_days = 1\nnotify = [\"mayor\"]\n", True,
     ("action_ladder.0.notify.0",)),
    ("mail_from_name_header_injection", 'mail_from_name = "QA\\r\\nBcc: victim@example.com"\n', True,
     ("mail_from_name", "one line")),
    ("mail_from_name_bidi_override", 'mail_from_name = "QA \\u202eTeam"\n', True,
     ("mail_from_name", "bidirectional control character (U+202E")),
    ("mail_from_name_zero_width", 'mail_from_name = "QA\\u200bTeam"\n', True,
     ("mail_from_name", "invisible character (U+200B")),
    ("mail_from_header_injection", 'mail_from = "qa@example.org\\r\\nBcc: victim@example.com"\n', True,
     ("mail_from",)),
    ("mail_from_name_ten_mb", f'mail_from_name = "{BIG_TEXT}"\n', True, ("mail_from_name", "200 characters")),
    ("unknown_time_zone", 'timezone = "Mars/Olympus"\n', True, ("timezone", "unknown time zone")),
    ("time_zone_path", 'timezone = "../../../etc/passwd"\n', True, ("timezone",)),
    ("smtp_port_out_of_range", "smtp_port = 70000\n", True, ("smtp_port",)),
    ("smtp_security_unknown", 'smtp_security = "tls"\n', True, ("smtp_security",)),
    ("missing_file", None, True, ("AUDITCYCLE_CONFIG names", "not a file")),
    ("a_directory", "DIR", True, ("not a file",)),
]


def test_hostile_configuration_is_refused_naming_file_and_setting(app_env, tmp_path: Path, monkeypatch, tally) -> None:
    from auditcycle.storage.db import get_engine

    engine = get_engine()

    def attempt(case) -> str:
        name, content, refused, says = case
        path = tmp_path / f"{name}.toml"
        if content == "DIR":
            path.mkdir()
        elif content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        monkeypatch.setenv("AUDITCYCLE_CONFIG", str(path))
        get_settings.cache_clear()
        before = fingerprint(engine)
        result = invoke("list", "audits", "--month", "2026-12")
        if refused:
            assert_refused(result, engine, before, (path.name, *says))
            return "rejected"
        assert_ok(result)
        settings = Settings()
        if name in ("valid", "utf8_bom", "ten_mb_of_comments"):
            assert settings.framework.action_max_days == 20
        return "accepted"

    tally.run(KIND, [c for c in CASES], attempt)
