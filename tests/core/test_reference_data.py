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
