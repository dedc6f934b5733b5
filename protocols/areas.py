"""Treatment areas: structured zone codes shared by protocols and session charts.

Codes, not pixels: the chart's clickable diagram stores these codes, and protocols
list the zones they treat. Grouped by region so the diagram can show one view at a time.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Zone:
    code: str
    label: str
    region: str


ZONES: tuple[Zone, ...] = (
    # Scalp
    Zone("scalp_frontal", "Frontal hairline", "scalp"),
    Zone("scalp_midscalp", "Mid-scalp", "scalp"),
    Zone("scalp_crown", "Crown (vertex)", "scalp"),
    Zone("scalp_temporal_left", "Left temple", "scalp"),
    Zone("scalp_temporal_right", "Right temple", "scalp"),
    Zone("scalp_occipital", "Back of the head", "scalp"),
    # Face
    Zone("face_forehead", "Forehead", "face"),
    Zone("face_periorbital_left", "Around the left eye", "face"),
    Zone("face_periorbital_right", "Around the right eye", "face"),
    Zone("face_cheek_left", "Left cheek", "face"),
    Zone("face_cheek_right", "Right cheek", "face"),
    Zone("face_nose", "Nose", "face"),
    Zone("face_perioral", "Around the mouth", "face"),
    Zone("face_chin", "Chin", "face"),
    Zone("face_jawline", "Jawline", "face"),
    # Body
    Zone("neck", "Neck", "body"),
    Zone("decollete", "Décolleté", "body"),
    Zone("hands", "Backs of the hands", "body"),
    Zone("abdomen", "Abdomen", "body"),
    Zone("hips_flanks", "Hips and flanks", "body"),
    Zone("thighs", "Thighs", "body"),
    Zone("buttocks", "Buttocks", "body"),
    Zone("upper_arms", "Upper arms", "body"),
    Zone("back", "Back", "body"),
)
ZONE_BY_CODE = {z.code: z for z in ZONES}
ZONE_CHOICES = [(z.code, z.label) for z in ZONES]
REGIONS = ("scalp", "face", "body")


def labels(codes) -> list[str]:
    return [ZONE_BY_CODE[c].label for c in codes if c in ZONE_BY_CODE]
