"""The French and Spanish catalogues are complete and compiled."""

from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_catalogue_has_no_untranslated_or_fuzzy_entry(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, f"{language}: untranslated {untranslated[:5]}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_the_compiled_catalogue_matches_the_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    compiled = {e.msgid: e.msgstr for e in polib.mofile(str(folder / "django.mo")) if e.msgid}
    source = {
        e.msgid: e.msgstr
        for e in polib.pofile(str(folder / "django.po")).translated_entries()
        if not e.msgid_plural
    }
    assert {k: v for k, v in source.items() if compiled.get(k) != v} == {}, (
        "run make compilemessages"
    )


def test_pages_follow_the_chosen_language(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="es")
    assert 'lang="es"' in response.content.decode()
    assert "Iniciar sesión" in response.content.decode()


@pytest.mark.parametrize("language", ["fr", "es"])
def test_a_capitalised_message_stays_capitalised(language):
    """Labels, headings and buttons start with a capital in English; a translation that
    starts in lower case shows as a lower-case label (seen: "objectifs du PMM")."""
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    lowered = [
        (e.msgid, e.msgstr)
        for e in catalogue.translated_entries()
        if not e.msgid_plural and e.msgid[:1].isupper() and e.msgstr[:1].islower()
    ]
    assert not lowered, f"{language}: {lowered[:5]}"
