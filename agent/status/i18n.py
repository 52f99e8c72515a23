"""Language choice and formatting: French by default, English on request.

Schools and municipal IT read French, so French is the default; `?lang=en` or a browser
that prefers English switches. Numbers use the decimal comma in French, times are shown
in the school's time zone (Europe/Paris) although everything is UTC inside.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from agent.status.messages import MESSAGES, MONTHS

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")


def _as_language(value: str | None) -> Language | None:
    if value is None:
        return None
    primary = value.strip().lower().split("-", 1)[0]
    return "fr" if primary == "fr" else "en" if primary == "en" else None


def negotiate(query: str | None, accept_language: str | None, default: Language) -> Language:
    """`?lang=` wins, then the browser's best-weighted fr/en, then the configured default."""
    chosen = _as_language(query)
    if chosen is not None:
        return chosen
    best: tuple[float, Language] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.partition(";")
        language = _as_language(tag)
        if language is None:
            continue
        weight = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                weight = 0.0
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, language)
    return best[1] if best else default


class Translator:
    """Looks up messages and formats values for one request's language and time zone."""

    def __init__(self, language: Language, tz: ZoneInfo) -> None:
        self.language = language
        self.tz = tz

    def __call__(self, key: str, **values: Any) -> str:
        fr, en = MESSAGES.get(key, (key, key))
        template = fr if self.language == "fr" else en
        return template.format(**values) if values else template

    def count(self, key: str, count: int) -> str:
        """Plural by language: French uses the singular for 0 and 1, English only for 1."""
        one = count <= 1 if self.language == "fr" else count == 1
        return self(f"{key}_one" if one else f"{key}_many", count=count)

    def term(self, prefix: str, name: str) -> str:
        """A known word (`category_printer`) or, for names we do not know, the name itself."""
        key = f"{prefix}_{name}"
        return self(key) if key in MESSAGES else name

    def job(self, name: str) -> str:
        return self.term("job", name)

    def category(self, name: str) -> str:
        return self.term("category", name)

    def part(self, name: str) -> str:
        return self.term("part", name)

    def state(self, name: str) -> str:
        return self.term("state", name)

    @property
    def months(self) -> tuple[str, ...]:
        return MONTHS[self.language]

    def local(self, value: object) -> str:
        """A `{"fr": …, "en": …}` text from an assessment, or a plain string."""
        if isinstance(value, dict):
            chosen = value.get(self.language) or value.get("fr") or value.get("en")
            return chosen if isinstance(chosen, str) else ""
        return value if isinstance(value, str) else ""

    def number(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return "–"
        text = f"{value:.{digits}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(".", ",") if self.language == "fr" else text

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "–"
        local = moment.astimezone(self.tz)
        if self.language == "fr":
            return local.strftime("%d/%m/%Y %H:%M")
        return local.strftime("%Y-%m-%d %H:%M")

    def duration(self, seconds: float | None) -> str:
        if seconds is None:
            return "–"
        total = int(abs(seconds))
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        day = "j" if self.language == "fr" else "d"
        if days:
            return f"{days} {day} {hours} h"
        if hours:
            return f"{hours} h {minutes:02d} min"
        return f"{minutes} min" if minutes else f"{total} s"

    def size(self, count: int | None) -> str:
        """Bytes in decimal units, as ISPs count data: Mo/Go in French, MB/GB in English."""
        if count is None:
            return "–"
        units = (
            ("o", "ko", "Mo", "Go", "To")
            if self.language == "fr"
            else ("B", "kB", "MB", "GB", "TB")
        )
        value = float(count)
        for unit in units:
            if value < 1000 or unit == units[-1]:
                return f"{self.number(value, 0 if unit == units[0] else 1)} {unit}"
            value /= 1000
        return f"{count} {units[0]}"  # pragma: no cover - the loop always returns
