"""The default protocol catalogue, seeded from the clinical reference (CLINICAL.md).

Every number is a default the clinic edits; the texts say so. Seeding is
idempotent: a protocol that exists (by name) is left exactly as the clinic keeps it.
The data migration and the `seed_protocols` command both call `seed(models)`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from protocols import consent_text
from protocols import models as m

EDITABLE_NOTE = (
    "These are the clinic's starting defaults, based on published guidance; "
    "your practitioner adapts them to you."
)

PRP_CONTRAINDICATIONS = {
    "absolute": ["platelet_disorder", "haemodynamic_instability", "sepsis", "site_infection"],
    "relative": [
        "anticoagulants",
        "nsaids_recent",
        "aspirin_recent",
        "systemic_steroids",
        "steroid_injection_site",
        "recent_fever",
        "cancer_or_chemo",
        "low_haemoglobin",
        "low_platelets",
        "pregnant_or_breastfeeding",
        "uncontrolled_diabetes",
        "autoimmune_disease",
        "keloid_tendency",
        "isotretinoin_recent",
        "smoker",
        "anaesthetic_allergy",
    ],
}
MESO_CONTRAINDICATIONS = {
    "absolute": ["site_infection", "sepsis"],
    "relative": [
        "pregnant_or_breastfeeding",
        "anticoagulants",
        "ingredient_allergy",
        "keloid_tendency",
        "autoimmune_disease",
    ],
}

PRE_CARE_PRP = [
    ("Stop aspirin unless a doctor prescribed it (then ask them first)", 10, "days"),
    ("Stop ibuprofen, naproxen and other anti-inflammatories; paracetamol is fine", 7, "days"),
    ("Stop fish oil, vitamin E, ginkgo and garlic supplements", 7, "days"),
    (
        "Tell us about blood thinners, cancer, chemotherapy or steroid tablets in the last two weeks",
        None,
        "",
    ),
    ("Eat a proper meal and drink plenty of water on the day", None, ""),
]
PRE_CARE_FACE = [
    ("Stop retinoids and acid exfoliants", 7, "days"),
    ("Avoid sunburn or a fresh tan", 14, "days"),
]
PRE_CARE_SCALP = [("Wash your hair the morning of the session; no styling products", None, "")]

AFTER_NORMAL = (
    "Redness, swelling and small bumps where the needle went in are normal for a few hours "
    "up to two days. Some people bruise for several days."
)
AFTER_WARNING = (
    "Call the clinic at once if pain gets worse instead of better, the area feels hot, you "
    "see pus, you have a fever, a rash spreads, or dark patches appear on the skin."
)
AFTERCARE_SCALP = [
    ("Do not touch your scalp", 8, "hours"),
    ("Do not wet your hair", 24, "hours"),
    ("No styling products", 6, "hours"),
    ("No sauna, swimming, hard exercise, sun or heat", 2, "days"),
    ("No alcohol or smoking", 3, "days"),
    ("No minoxidil or hair colouring", 3, "days"),
    ("For discomfort take paracetamol, not ibuprofen or aspirin", 14, "days"),
    ("Do not put ice on the scalp", 1, "days"),
]
AFTERCARE_FACE = [
    ("No make-up", 24, "hours"),
    ("Avoid sweating and hard exercise", 48, "hours"),
    ("Gentle skincare products only", 7, "days"),
    ("No retinoids or acids", 7, "days"),
    ("Use SPF 30 or higher every day", 14, "days"),
    ("For discomfort take paracetamol, not ibuprofen or aspirin", 7, "days"),
]
AFTERCARE_BODY = [
    ("Keep the area clean and dry; no creams except those we give you", 24, "hours"),
    ("No sauna, swimming, hard exercise or sun on the area", 2, "days"),
    ("For discomfort take paracetamol, not ibuprofen or aspirin", 7, "days"),
]
AFTERCARE_MESO = [
    ("Keep water off the treated area", 12, "hours"),
    ("No cosmetics on the treated area", 24, "hours"),
    ("No sauna, exercise or sun", 48, "hours"),
]

RISKS_PRP = (
    "redness, swelling, bruising, pain or discomfort at the injection sites, itching, small "
    "bumps, infection, scarring, dark patches of skin, a rash, feeling faint or sick when blood "
    "is drawn, and results that are uneven or more modest than hoped"
)
RISKS_MESO = (
    "redness, swelling, bruising, pain at the injection sites, itching, small bumps, an allergic "
    "reaction to an ingredient, infection, dark patches of skin, and uneven or modest results"
)

CONSENT_TEMPLATE = (Path(__file__).parent / "data" / "default_consent.txt").read_text().strip()


def _base(**fields):
    return {
        "activation": "none",
        "blood_volume_ml": None,
        "tubes": None,
        "spins": [],
        "ingredients": [],
        **fields,
    }


PRP_DOUBLE_SPIN = [(300, 10), (700, 15)]
PRP_SINGLE_SPIN = [(1500, 8)]

PROTOCOLS = [
    _base(
        name="PRP scalp (hair loss)",
        indication="hair_loss",
        technique="prp_injection",
        treatment_areas=[
            "scalp_frontal",
            "scalp_midscalp",
            "scalp_crown",
            "scalp_temporal_left",
            "scalp_temporal_right",
        ],
        session_minutes=60,
        course=(3, 21, 28, 42, 4),
        blood_volume_ml=Decimal("20.0"),
        tubes=2,
        spins=PRP_DOUBLE_SPIN,
        description=(
            "Platelet-rich plasma (PRP) is made from a small sample of your own blood. It is spun "
            "to concentrate the platelets, then injected into the thinning areas of the scalp in "
            "many small injections. Most people have three sessions about four weeks apart, then "
            "a top-up every few months. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "Some studies show thicker, denser hair after PRP, but placebo-controlled trials did not "
            "find a clear benefit of PRP alone for male pattern hair loss. Results vary between "
            "people and are not permanent without maintenance."
        ),
        risks=RISKS_PRP,
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP + PRE_CARE_SCALP,
        aftercare=AFTERCARE_SCALP,
    ),
    _base(
        name="PRP scalp with microneedling",
        indication="hair_loss",
        technique="prp_microneedling",
        treatment_areas=["scalp_frontal", "scalp_midscalp", "scalp_crown"],
        session_minutes=75,
        course=(4, 21, 28, 42, 6),
        blood_volume_ml=Decimal("20.0"),
        tubes=2,
        spins=PRP_DOUBLE_SPIN,
        description=(
            "Your own platelet-rich plasma is applied to the scalp together with microneedling: a "
            "pen with very fine needles makes tiny channels so the plasma reaches deeper. A course "
            "is usually four sessions about four weeks apart, then maintenance every six months. "
            + EDITABLE_NOTE
        ),
        evidence_note=(
            "Combining PRP with microneedling has shown better hair counts than microneedling alone "
            "in some studies; the studies are small and results vary."
        ),
        risks=RISKS_PRP,
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP + PRE_CARE_SCALP,
        aftercare=AFTERCARE_SCALP,
    ),
    _base(
        name="PRP face rejuvenation",
        indication="face_rejuvenation",
        technique="prp_injection",
        treatment_areas=[
            "face_forehead",
            "face_periorbital_left",
            "face_periorbital_right",
            "face_cheek_left",
            "face_cheek_right",
        ],
        session_minutes=60,
        course=(3, 14, 28, 42, 6),
        blood_volume_ml=Decimal("10.0"),
        tubes=1,
        spins=PRP_DOUBLE_SPIN,
        description=(
            "Platelet-rich plasma from your own blood is injected into the skin of the face to "
            "support skin quality, fine lines and tone. A course is usually three sessions about "
            "four weeks apart; the effect can last up to about ten months, so many people have a "
            "top-up every six months. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "Studies report improved skin texture and tone, but a placebo-controlled trial found no "
            "clear benefit of PRP with microneedling for facial ageing. Expect gradual, modest change."
        ),
        risks=RISKS_PRP,
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP + PRE_CARE_FACE,
        aftercare=AFTERCARE_FACE,
    ),
    _base(
        name="PRP with microneedling for acne scars",
        indication="acne_scars",
        technique="prp_microneedling",
        treatment_areas=["face_cheek_left", "face_cheek_right", "face_forehead", "face_chin"],
        session_minutes=75,
        course=(3, 28, 28, 42, None),
        blood_volume_ml=Decimal("10.0"),
        tubes=1,
        spins=PRP_DOUBLE_SPIN,
        description=(
            "Microneedling makes tiny channels in scarred skin and your own platelet-rich plasma is "
            "applied to help it repair. Usually three sessions four to six weeks apart; some people "
            "need more. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "For acne scars, microneedling with PRP has done better than microneedling alone in "
            "trials. Deep scars improve less than shallow ones."
        ),
        risks=RISKS_PRP,
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP + PRE_CARE_FACE,
        aftercare=AFTERCARE_FACE,
    ),
    _base(
        name="PRP for stretch marks",
        indication="stretch_marks",
        technique="prp_microneedling",
        treatment_areas=["abdomen", "hips_flanks", "thighs"],
        session_minutes=60,
        course=(4, 14, 28, 42, None),
        blood_volume_ml=Decimal("20.0"),
        tubes=2,
        spins=PRP_DOUBLE_SPIN,
        description=(
            "Your own platelet-rich plasma is applied to stretch marks with microneedling or small "
            "injections. A course is usually four sessions about four weeks apart. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "The evidence for stretch marks is weak: small studies, mixed results. Marks can become "
            "less visible but rarely disappear."
        ),
        risks=RISKS_PRP,
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP,
        aftercare=AFTERCARE_BODY,
    ),
    _base(
        name="Plasma lift: PRP with fractional laser",
        indication="face_rejuvenation",
        technique="prp_fractional_laser",
        treatment_areas=[
            "face_forehead",
            "face_cheek_left",
            "face_cheek_right",
            "face_perioral",
            "neck",
        ],
        session_minutes=90,
        course=(3, 28, 35, 56, 12),
        blood_volume_ml=Decimal("15.0"),
        tubes=2,
        spins=PRP_DOUBLE_SPIN,
        activation="calcium_gluconate",
        description=(
            "A fractional laser treats the skin and your own platelet-rich plasma is applied in the "
            "same session to support healing. Usually three sessions about five weeks apart, then "
            "once a year. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "Adding PRP after fractional laser has shortened redness and improved results in some "
            "studies; the evidence is limited."
        ),
        risks=RISKS_PRP + ", and after the laser: a few days of redness, crusting and peeling",
        contraindications=PRP_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP + PRE_CARE_FACE,
        aftercare=AFTERCARE_FACE,
    ),
    _base(
        name="Hair mesotherapy",
        indication="hair_loss",
        technique="meso_cocktail",
        treatment_areas=["scalp_frontal", "scalp_midscalp", "scalp_crown"],
        session_minutes=40,
        course=(8, 7, 14, 21, 3),
        ingredients=[
            ("Non-cross-linked hyaluronic acid", ""),
            ("Biotin and B vitamins", ""),
            ("Amino acids", ""),
            ("Peptides", ""),
        ],
        description=(
            "A cocktail of vitamins, amino acids and hyaluronic acid is injected into the scalp in "
            "tiny amounts. A course is usually eight sessions every two weeks, then a session every "
            "three months. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "Evidence for mesotherapy cocktails in hair loss comes from small studies with mixed "
            "results; it is not a replacement for medical treatment of hair loss."
        ),
        risks=RISKS_MESO,
        contraindications=MESO_CONTRAINDICATIONS,
        pre_care=PRE_CARE_PRP[:2] + PRE_CARE_SCALP,
        aftercare=AFTERCARE_MESO,
    ),
    _base(
        name="Face mesotherapy",
        indication="face_rejuvenation",
        technique="meso_cocktail",
        treatment_areas=["face_forehead", "face_cheek_left", "face_cheek_right", "neck"],
        session_minutes=45,
        course=(4, 7, 14, 21, 6),
        ingredients=[
            ("Non-cross-linked hyaluronic acid", ""),
            ("Vitamins A, C and E", ""),
            ("Amino acids", ""),
            ("Antioxidants", ""),
        ],
        description=(
            "A cocktail of hyaluronic acid, vitamins and amino acids is placed in the skin with many "
            "tiny injections for hydration and glow. Usually four sessions every two weeks, then once "
            "or twice a year. " + EDITABLE_NOTE
        ),
        evidence_note=(
            "Studies show improved hydration and glow in the short term; the effect fades without "
            "maintenance and the evidence is limited."
        ),
        risks=RISKS_MESO,
        contraindications=MESO_CONTRAINDICATIONS,
        pre_care=PRE_CARE_FACE,
        aftercare=AFTERCARE_MESO + [("Use SPF 30 or higher every day", 7, "days")],
    ),
]


def seed(models) -> int:
    """Create the default protocols that do not exist yet. Returns how many were created.

    `models` maps model names to classes (real or historical), so the data
    migration can pass `apps.get_model` results.
    """
    Protocol = models["Protocol"]
    created = 0
    for data in PROTOCOLS:
        if Protocol.objects.filter(name__iexact=data["name"]).exists():
            continue
        sessions, min_days, target_days, max_days, maintenance = data["course"]
        protocol = Protocol.objects.create(
            name=data["name"],
            indication=data["indication"],
            technique=data["technique"],
            treatment_areas=data["treatment_areas"],
            session_minutes=data["session_minutes"],
            sessions_in_course=sessions,
            min_interval_days=min_days,
            target_interval_days=target_days,
            max_interval_days=max_days,
            maintenance_interval_months=maintenance,
            blood_volume_ml=data["blood_volume_ml"],
            tubes=data["tubes"],
            activation=data["activation"],
            description=data["description"],
            evidence_note=data["evidence_note"],
            risks=data["risks"],
            what_is_normal=AFTER_NORMAL,
            warning_signs=AFTER_WARNING,
        )
        for order, (g_force, minutes) in enumerate(data["spins"], start=1):
            models["CentrifugeSpin"].objects.create(
                protocol=protocol, order=order, g_force=g_force, minutes=minutes
            )
        for name, amount in data["ingredients"]:
            models["CocktailIngredient"].objects.create(protocol=protocol, name=name, amount=amount)
        for severity, codes in data["contraindications"].items():
            for code in codes:
                models["ProtocolContraindication"].objects.create(
                    protocol=protocol, code=code, severity=severity
                )
        for phase, items in (("pre", data["pre_care"]), ("after", data["aftercare"])):
            for order, (text, value, unit) in enumerate(items):
                models["CareInstruction"].objects.create(
                    protocol=protocol,
                    phase=phase,
                    order=order,
                    text=text,
                    duration_value=value,
                    duration_unit=unit or "",
                )
        models["ConsentVersion"].objects.create(
            protocol=protocol,
            number=1,
            text=CONSENT_TEMPLATE,
            text_sha256=consent_text.sha256(CONSENT_TEMPLATE),
        )
        created += 1
    return created


def real_models() -> dict:
    return {
        name: getattr(m, name)
        for name in (
            "Protocol",
            "CentrifugeSpin",
            "CocktailIngredient",
            "ProtocolContraindication",
            "CareInstruction",
            "ConsentVersion",
        )
    }
