"""Reference data loaded by migrations is present in every fresh database."""

from cbportal.accounts.models import Country, Region
from cbportal.core.models import GcmObjective, Language, ThematicArea


def test_it_loads_every_iso_country_with_its_m49_region(db):
    assert Country.objects.count() == 249
    tunisia = Country.objects.get(code="TN")
    assert (tunisia.iso3, tunisia.region, tunisia.subregion) == (
        "TUN",
        Region.AFRICA,
        "Northern Africa",
    )
    assert Country.objects.get(code="MX").subregion == "Latin America and the Caribbean"
    assert set(Country.objects.values_list("region", flat=True)) == set(Region.values)


def test_it_loads_the_23_gcm_objectives(db):
    assert list(GcmObjective.objects.values_list("number", flat=True)) == list(range(1, 24))
    assert "border" in GcmObjective.objects.get(number=11).title.lower()
    assert "international cooperation" in GcmObjective.objects.get(number=23).title.lower()


def test_it_loads_the_thematic_areas_of_the_design(db):
    assert ThematicArea.objects.count() == 8
    assert ThematicArea.objects.get(slug="labour-migration").name == "Labour migration"


def test_it_loads_iso_639_1_languages(db):
    assert Language.objects.count() >= 180
    assert Language.objects.get(code="fr").name == "French"


def test_names_follow_the_active_language(db):
    from django.utils import translation

    area = ThematicArea.objects.get(slug="labour-migration")
    with translation.override("es"):
        assert area.display_name == "Migración laboral"
        assert Country.objects.get(code="DE").display_name == "Alemania"
    with translation.override("fr"):
        assert GcmObjective.objects.get(number=23).display_title.startswith("Renforcer")


def test_every_reference_row_has_a_french_and_a_spanish_name(db):
    """Reference tables show their names in the reader's language: no row may fall back to
    English in French or Spanish."""
    tables = [
        (ThematicArea, "name"),
        (GcmObjective, "title"),
        (Language, "name"),
        (Country, "name"),
    ]
    for model, field in tables:
        for lang in ("fr", "es"):
            missing = list(
                model.objects.filter(**{f"{field}_{lang}": ""}).values_list(field, flat=True)
            )
            assert not missing, f"{model.__name__} without a {lang} {field}: {missing[:5]}"


def test_every_choice_a_user_sees_is_in_the_catalogues():
    """Enumerated reference data (activity types, CB levels, DAC criteria and ratings,
    statuses, …) comes from model choices: every label must be a translatable string that
    the French and Spanish catalogues translate. A plain-string label, or one missing from a
    catalogue, fails here."""
    from pathlib import Path

    import polib
    from django.apps import apps
    from django.utils.functional import Promise

    from evaluations.models import DAC_CRITERIA

    locale = Path(__file__).resolve().parents[2] / "locale"
    catalogues = {
        lang: {
            e.msgid
            for e in polib.pofile(str(locale / lang / "LC_MESSAGES" / "django.po"))
            if e.translated()
        }
        for lang in ("fr", "es")
    }
    labels: dict[str, object] = {}
    for model in apps.get_models():
        if model._meta.app_label not in {
            "core",
            "accounts",
            "requests_app",
            "actions",
            "experts",
            "evaluations",
        }:
            continue
        for model_field in model._meta.get_fields():
            for value, label in getattr(model_field, "flatchoices", None) or []:
                labels[f"{model.__name__}.{model_field.name}={value}"] = label
    for name, label in DAC_CRITERIA:
        labels[f"DAC_CRITERIA.{name}"] = label

    def msgid(label: Promise) -> str:
        # A lazy gettext proxy keeps its arguments: (message,) or (context, message).
        return str(label._args[-1])  # type: ignore[attr-defined]

    assert len(labels) > 100, "the walk over model choices found too little"
    not_translatable = sorted(k for k, v in labels.items() if not isinstance(v, Promise))
    # CEFR levels (A1–C2) are the same codes in every language.
    not_translatable = [k for k in not_translatable if not k.startswith("ExpertLanguage.level=")]
    assert not not_translatable, f"choice labels that are plain strings: {not_translatable[:10]}"
    for lang, msgids in catalogues.items():
        missing = sorted(
            k for k, v in labels.items() if isinstance(v, Promise) and msgid(v) not in msgids
        )
        assert not missing, f"{lang}: choice labels missing from the catalogue: {missing[:10]}"


def test_country_and_language_options_follow_the_readers_alphabet(db):
    """The tables are ordered by English name; a French reader finds "Allemagne" among the
    A's and "Égypte" among the E's, a Spanish reader "Alemania" among the A's."""
    from django.utils import translation

    from cbportal.core.i18n import collation_key
    from requests_app.forms import RequestForm

    for lang, germany, egypt in (("fr", "Allemagne", "Égypte"), ("es", "Alemania", "Egipto")):
        with translation.override(lang):
            form = RequestForm()
            labels = [str(label) for value, label in form.fields["country"].choices if value]
            languages = [str(label) for _, label in form.fields["languages"].choices]
        assert labels == sorted(labels, key=collation_key), lang
        assert languages == sorted(languages, key=collation_key), lang
        assert labels.index(germany) < 10, (lang, labels[:10])
        position = labels.index(egypt)
        assert collation_key(labels[position - 1])[0] in "de", (lang, labels[position - 1])
