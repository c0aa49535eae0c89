"""`auditcycle check-config`: the settings a council sets before going live, and which are still placeholders."""
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from auditcycle.cli import app, console, fail, guarded
from auditcycle.core.settings import config_path, get_settings, go_live_settings


@app.command("check-config")
@guarded
def check_config_command() -> None:
    """List the settings to set before going live with their values; exit 1 naming any still a placeholder."""
    found = go_live_settings(get_settings())
    path = config_path()
    console.print(f"Go-live settings, from {escape(str(path)) if path else 'the defaults (no auditcycle.toml)'} "
                  "and AUDITCYCLE_* variables:", highlight=False)
    for item in found:
        status = "[bold red]placeholder[/]" if item.placeholder else "[green]set[/]"
        console.print(f"  {status}  [bold]{item.name}[/] = {escape(item.value or '(unset)')}", highlight=False,
                      soft_wrap=True)
        console.print(Padding(Text(f"{item.means}; {item.variable}", style="dim"), (0, 0, 0, 4), expand=False))
    if placeholders := [item.name for item in found if item.placeholder]:
        raise fail(f"still placeholders: {', '.join(placeholders)}; set them in auditcycle.toml or the environment "
                   "before the first real month")
    console.print("Every go-live setting is set.")
