"""Reference data every database needs: thematic areas (editable later), the 23 GCM
objectives, ISO 639-1 languages and ISO 3166-1 countries with their UN M49 regions.

Loaded by data migrations (with the historical app registry) and, in tests, again after a
transactional test has flushed the tables. Loading twice changes nothing.
"""

import csv
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
LANGUAGES = DATA / "languages.csv"
COUNTRIES = Path(__file__).resolve().parent.parent / "accounts" / "data" / "countries.csv"

THEMATIC_AREAS = [
    (
        "data",
        "Data production, collection and analysis",
        "Production, collecte et analyse de données",
        "Producción, recopilación y análisis de datos",
    ),
    (
        "governance",
        "Migration governance and policy making",
        "Gouvernance des migrations et élaboration des politiques",
        "Gobernanza de la migración y formulación de políticas",
    ),
    (
        "protection",
        "Safe migration, forced displacement and protection",
        "Migration sûre, déplacements forcés et protection",
        "Migración segura, desplazamiento forzado y protección",
    ),
    (
        "border-management",
        "Orderly migration and border management",
        "Migration ordonnée et gestion des frontières",
        "Migración ordenada y gestión de fronteras",
    ),
    (
        "integration",
        "Regular migration, integration and social cohesion",
        "Migration régulière, intégration et cohésion sociale",
        "Migración regular, integración y cohesión social",
    ),
    ("labour-migration", "Labour migration", "Migration de travail", "Migración laboral"),
    (
        "trafficking-smuggling",
        "Trafficking in human beings and migrant smuggling",
        "Traite des êtres humains et trafic de migrants",
        "Trata de seres humanos y tráfico ilícito de migrantes",
    ),
    (
        "diaspora-development",
        "Diaspora and development",
        "Diaspora et développement",
        "Diáspora y desarrollo",
    ),
]

# Global Compact for Safe, Orderly and Regular Migration, objectives 1–23 (short titles).
GCM_OBJECTIVES = [
    (
        1,
        "Collect and utilize accurate and disaggregated data as a basis for evidence-based policies",
        "Collecter et utiliser des données exactes et ventilées pour l'élaboration de politiques fondées sur la connaissance des faits",
        "Recopilar y utilizar datos exactos y desglosados para formular políticas con base empírica",
    ),
    (
        2,
        "Minimize the adverse drivers and structural factors that compel people to leave their country of origin",
        "Lutter contre les facteurs négatifs et les problèmes structurels qui poussent des personnes à quitter leur pays d'origine",
        "Minimizar los factores adversos y estructurales que obligan a las personas a abandonar su país de origen",
    ),
    (
        3,
        "Provide accurate and timely information at all stages of migration",
        "Fournir dans les meilleurs délais des informations exactes à toutes les étapes de la migration",
        "Proporcionar información exacta y oportuna en todas las etapas de la migración",
    ),
    (
        4,
        "Ensure that all migrants have proof of legal identity and adequate documentation",
        "Munir tous les migrants d'une preuve d'identité légale et de papiers adéquats",
        "Velar por que todos los migrantes tengan pruebas de su identidad jurídica y documentación adecuada",
    ),
    (
        5,
        "Enhance availability and flexibility of pathways for regular migration",
        "Faire en sorte que les filières de migration régulière soient accessibles et plus souples",
        "Aumentar la disponibilidad y flexibilidad de las vías de migración regular",
    ),
    (
        6,
        "Facilitate fair and ethical recruitment and safeguard conditions that ensure decent work",
        "Favoriser des pratiques de recrutement justes et éthiques et assurer les conditions d'un travail décent",
        "Facilitar la contratación equitativa y ética y salvaguardar las condiciones que garantizan el trabajo decente",
    ),
    (
        7,
        "Address and reduce vulnerabilities in migration",
        "S'attaquer aux facteurs de vulnérabilité liés aux migrations et les réduire",
        "Abordar y reducir las vulnerabilidades en la migración",
    ),
    (
        8,
        "Save lives and establish coordinated international efforts on missing migrants",
        "Sauver des vies et mettre en place une action internationale coordonnée concernant les migrants disparus",
        "Salvar vidas y emprender iniciativas internacionales coordinadas sobre los migrantes desaparecidos",
    ),
    (
        9,
        "Strengthen the transnational response to smuggling of migrants",
        "Renforcer l'action transnationale face au trafic de migrants",
        "Reforzar la respuesta transnacional al tráfico ilícito de migrantes",
    ),
    (
        10,
        "Prevent, combat and eradicate trafficking in persons in the context of international migration",
        "Prévenir, combattre et éliminer la traite de personnes dans le cadre des migrations internationales",
        "Prevenir, combatir y erradicar la trata de personas en el contexto de la migración internacional",
    ),
    (
        11,
        "Manage borders in an integrated, secure and coordinated manner",
        "Gérer les frontières de manière intégrée, sûre et coordonnée",
        "Gestionar las fronteras de manera integrada, segura y coordinada",
    ),
    (
        12,
        "Strengthen certainty and predictability in migration procedures for appropriate screening, assessment and referral",
        "Renforcer la sécurité juridique et la prévisibilité des procédures migratoires pour assurer des contrôles, des évaluations et une orientation appropriés",
        "Aumentar la certidumbre y previsibilidad de los procedimientos migratorios para la adecuada verificación de antecedentes, evaluación y derivación",
    ),
    (
        13,
        "Use migration detention only as a measure of last resort and work towards alternatives",
        "Ne recourir au placement en rétention administrative des migrants qu'en dernier ressort et chercher des solutions de rechange",
        "Utilizar la detención de migrantes solo como último recurso y buscar otras alternativas",
    ),
    (
        14,
        "Enhance consular protection, assistance and cooperation throughout the migration cycle",
        "Renforcer la protection, l'assistance et la coopération consulaires tout au long du cycle migratoire",
        "Mejorar la protección, asistencia y cooperación consulares a lo largo de todo el ciclo migratorio",
    ),
    (
        15,
        "Provide access to basic services for migrants",
        "Assurer l'accès des migrants aux services de base",
        "Proporcionar a los migrantes acceso a servicios básicos",
    ),
    (
        16,
        "Empower migrants and societies to realize full inclusion and social cohesion",
        "Donner aux migrants et aux sociétés les moyens de réaliser la pleine inclusion et la cohésion sociale",
        "Empoderar a los migrantes y las sociedades para lograr la plena inclusión y la cohesión social",
    ),
    (
        17,
        "Eliminate all forms of discrimination and promote evidence-based public discourse to shape perceptions of migration",
        "Éliminer toutes les formes de discrimination et encourager un débat public fondé sur l'analyse des faits afin de faire évoluer la manière dont les migrations sont perçues",
        "Eliminar todas las formas de discriminación y promover un discurso público con base empírica para modificar las percepciones de la migración",
    ),
    (
        18,
        "Invest in skills development and facilitate mutual recognition of skills, qualifications and competences",
        "Investir dans le perfectionnement des compétences et faciliter la reconnaissance mutuelle des aptitudes, qualifications et compétences",
        "Invertir en el desarrollo de aptitudes y facilitar el reconocimiento mutuo de aptitudes, cualificaciones y competencias",
    ),
    (
        19,
        "Create conditions for migrants and diasporas to fully contribute to sustainable development in all countries",
        "Créer les conditions permettant aux migrants et aux diasporas de contribuer pleinement au développement durable dans tous les pays",
        "Crear las condiciones necesarias para que los migrantes y las diásporas puedan contribuir plenamente al desarrollo sostenible en todos los países",
    ),
    (
        20,
        "Promote faster, safer and cheaper transfer of remittances and foster financial inclusion of migrants",
        "Promouvoir des transferts de fonds plus rapides, plus sûrs et moins coûteux et favoriser l'inclusion financière des migrants",
        "Promover transferencias de remesas más rápidas, seguras y económicas y fomentar la inclusión financiera de los migrantes",
    ),
    (
        21,
        "Cooperate in facilitating safe and dignified return and readmission, as well as sustainable reintegration",
        "Coopérer en vue de faciliter le retour et la réadmission des migrants en toute sécurité et dans la dignité, ainsi que leur réintégration durable",
        "Colaborar para facilitar el regreso y la readmisión en condiciones de seguridad y dignidad, así como la reintegración sostenible",
    ),
    (
        22,
        "Establish mechanisms for the portability of social security entitlements and earned benefits",
        "Mettre en place des mécanismes de portabilité des droits de sécurité sociale et des avantages acquis",
        "Establecer mecanismos para la portabilidad de la seguridad social y las prestaciones adquiridas",
    ),
    (
        23,
        "Strengthen international cooperation and global partnerships for safe, orderly and regular migration",
        "Renforcer la coopération internationale et les partenariats mondiaux pour des migrations sûres, ordonnées et régulières",
        "Fortalecer la cooperación internacional y las alianzas mundiales para la migración segura, ordenada y regular",
    ),
]


def load_core(apps: Any) -> None:
    ThematicArea = apps.get_model("core", "ThematicArea")
    GcmObjective = apps.get_model("core", "GcmObjective")
    Language = apps.get_model("core", "Language")
    for position, (slug, name, name_fr, name_es) in enumerate(THEMATIC_AREAS, start=1):
        ThematicArea.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "name_fr": name_fr, "name_es": name_es, "position": position},
        )
    for number, title, title_fr, title_es in GCM_OBJECTIVES:
        GcmObjective.objects.update_or_create(
            number=number, defaults={"title": title, "title_fr": title_fr, "title_es": title_es}
        )
    with LANGUAGES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    existing = set(Language.objects.values_list("code", flat=True))
    Language.objects.bulk_create([Language(**r) for r in rows if r["code"] not in existing])


def load_countries(apps: Any) -> None:
    Country = apps.get_model("accounts", "Country")
    with COUNTRIES.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    existing = set(Country.objects.values_list("code", flat=True))
    Country.objects.bulk_create(
        [Country(**row) for row in rows if row["code"] not in existing], batch_size=500
    )
