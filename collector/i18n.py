"""The dashboard's words in French (the default: municipalities read French) and English.

Language: `?lang=fr|en` wins, then the browser's Accept-Language, then French.
A missing key shows the key itself, so a forgotten translation is visible, not fatal.
"""

from __future__ import annotations

from collections.abc import Callable

Language = str  # "fr" | "en"
LANGUAGES = ("fr", "en")

_M: dict[str, tuple[str, str]] = {
    "fleet": ("Parc des écoles", "School fleet"),
    "school": ("École", "School"),
    "schools": ("écoles", "schools"),
    "uai": ("UAI", "UAI"),
    "name": ("Nom", "Name"),
    "commune": ("Commune", "Municipality"),
    "size": ("Taille", "Size"),
    "size.small": ("petite", "small"),
    "size.medium": ("moyenne", "medium"),
    "size.large": ("grande", "large"),
    "size.unknown": ("inconnue", "unknown"),
    "last_seen": ("Dernier contact", "Last seen"),
    "never": ("jamais", "never"),
    "bandwidth": ("Débit", "Bandwidth"),
    "minimum": ("Minimum", "Minimum"),
    "desirable": ("Souhaitable", "Desirable"),
    "median7": ("médiane 7 j", "7-day median"),
    "median": ("Médiane", "Median"),
    "score": ("Socle", "Socle score"),
    "alerts": ("Alertes", "Alerts"),
    "verdict": ("Verdict", "Verdict"),
    "verdict.pass": ("atteint", "met"),
    "verdict.fail": ("non atteint", "not met"),
    "verdict.unknown": ("inconnu", "unknown"),
    "verdict.minimum_pass": ("minimum atteint", "minimum met"),
    "verdict.minimum_fail": ("minimum non atteint", "below minimum"),
    "verdict.desirable_pass": ("souhaitable atteint", "desirable met"),
    "verdict.desirable_fail": ("souhaitable non atteint", "below desirable"),
    "alert": ("Alerte", "Alert"),
    "alert.any": ("au moins une", "any"),
    "alert.silent": ("agent muet > 24 h", "agent silent > 24 h"),
    "alert.below_minimum": ("sous le minimum", "below minimum"),
    "alert.toner_low": ("toner bas", "toner low"),
    "alert.lamp_end": ("lampe en fin de vie", "lamp near end of life"),
    "alert.wifi_on": ("Wi-Fi allumé hors cours", "Wi-Fi on outside lessons"),
    "alert.clock_skew": ("horloge décalée", "clock skew"),
    "alert.dead_letters": ("instantanés en échec", "dead-lettered snapshots"),
    "all": ("tous", "all"),
    "filter": ("Filtrer", "Filter"),
    "reset": ("Effacer", "Reset"),
    "search": ("UAI ou nom", "UAI or name"),
    "count.schools": ("écoles", "schools"),
    "count.minimum": ("atteignent le débit minimum", "meet the minimum bandwidth"),
    "count.desirable": ("atteignent le débit souhaitable", "meet the desirable bandwidth"),
    "count.equipment": ("ont l'équipement du socle", "have the socle equipment"),
    "count.silent": ("agents muets", "silent agents"),
    "page": ("Page", "Page"),
    "previous": ("Précédente", "Previous"),
    "next": ("Suivante", "Next"),
    "export": ("Exporter", "Export"),
    "export.schools": ("écoles", "schools"),
    "export.devices": ("équipements", "devices"),
    "history": ("Historique du débit (30 jours)", "Bandwidth history (30 days)"),
    "down": ("descendant", "down"),
    "up": ("montant", "up"),
    "latency": ("Latence", "Latency"),
    "latency.idle": ("au repos", "idle"),
    "latency.loaded": ("en charge", "loaded"),
    "jitter": ("gigue", "jitter"),
    "equipment": ("Équipements", "Equipment"),
    "category": ("Catégorie", "Category"),
    "vendor": ("Marque", "Vendor"),
    "model": ("Modèle", "Model"),
    "health": ("État", "Health"),
    "absent": ("absent du dernier relevé", "not in the latest report"),
    "checklist": ("Socle numérique de base", "Digital baseline checklist"),
    "status": ("Statut", "Status"),
    "status.met": ("atteint", "met"),
    "status.partly_met": ("en partie", "partly met"),
    "status.not_met": ("manquant", "missing"),
    "status.unknown": ("inconnu", "unknown"),
    "missing": ("Ce qui manque", "What is missing"),
    "agents": ("Agents", "Agents"),
    "agent_health": ("Santé de l'agent", "Agent health"),
    "version": ("Version", "Version"),
    "uptime": ("En service depuis", "Uptime"),
    "spool": ("File d'attente", "Spool depth"),
    "dead_letters": ("Instantanés en échec", "Dead letters"),
    "dropped": ("Instantanés perdus", "Dropped snapshots"),
    "clock": ("Horloge", "Clock"),
    "clock.synced": ("synchronisée", "synchronised"),
    "clock.unsynced": ("non synchronisée", "not synchronised"),
    "skew": ("décalage", "skew"),
    "errors": ("Dernières erreurs", "Last errors"),
    "timeline": ("Derniers instantanés", "Latest snapshots"),
    "seq": ("N°", "Seq"),
    "created": ("Créé", "Created"),
    "received": ("Reçu", "Received"),
    "pruned": ("corps supprimé (rétention)", "body pruned (retention)"),
    "state": ("État", "State"),
    "no_data": ("Aucune donnée reçue.", "No data received."),
    "no_schools": ("Aucune école ne correspond.", "No school matches."),
    "thresholds_for": ("seuils pour une école", "thresholds for a school"),
    "login": ("Connexion", "Sign in"),
    "logout": ("Déconnexion", "Sign out"),
    "username": ("Identifiant", "Username"),
    "password": ("Mot de passe", "Password"),
    "login.failed": ("Identifiant ou mot de passe incorrect.", "Wrong username or password."),
    "login.slow": (
        "Trop de tentatives : réessayez dans quelques minutes.",
        "Too many attempts: try again in a few minutes.",
    ),
    "devices": ("équipements", "devices"),
    "back": ("Retour au parc", "Back to the fleet"),
    "sort": ("Trier", "Sort"),
    "per_page": ("par page", "per page"),
    "language": ("English", "Français"),
    "cat.projector": ("Vidéoprojecteurs", "Projectors"),
    "cat.interactive_display": ("Écrans interactifs", "Interactive displays"),
    "cat.presentation_device": ("Boîtiers de projection", "Presentation devices"),
    "cat.printer": ("Imprimantes", "Printers"),
    "cat.mfp": ("Copieurs multifonctions", "Multifunction printers"),
    "cat.scanner": ("Scanners", "Scanners"),
    "cat.nas": ("Stockage partagé (NAS)", "Shared storage (NAS)"),
    "cat.access_point": ("Points d'accès Wi-Fi", "Wi-Fi access points"),
    "cat.wlan_controller": ("Contrôleurs Wi-Fi", "Wi-Fi controllers"),
    "cat.switch": ("Commutateurs", "Switches"),
    "cat.router": ("Routeurs", "Routers"),
    "cat.other": ("Autres", "Other"),
}


def translator(language: Language) -> Callable[[str], str]:
    index = 1 if language == "en" else 0

    def t(key: str) -> str:
        pair = _M.get(key)
        return pair[index] if pair else key

    return t


def pick_language(query_lang: str | None, accept_language: str | None) -> Language:
    if query_lang in LANGUAGES:
        assert query_lang is not None
        return query_lang
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "fr"
