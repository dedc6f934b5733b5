import io

import pytest
from django.urls import reverse
from PIL import Image

from mesoclinic.core.models import AuditEvent
from patients.models import ClinicalPhoto
from patients.photos import MAX_UPLOAD_BYTES, PhotoRejected, clean_photo

pytestmark = pytest.mark.django_db


def jpeg_with_gps(size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 120, 110))
    exif = Image.Exif()
    exif[0x010F] = "TabletCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 40.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_clean_photo_strips_all_metadata_including_location():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    cleaned = clean_photo(original)
    with Image.open(io.BytesIO(cleaned.content)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
        assert "exif" not in image.info
    assert (cleaned.width, cleaned.height) == (640, 480)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 this is not a photo", "not a photo"),
        (b"GIF89a" + b"\x00" * 100, "not a photo"),
        (b"\xff\xd8\xff" + b"\x00" * 50, "not a photo"),
        (b"x" * (MAX_UPLOAD_BYTES + 1), "larger than"),
    ],
)
def test_non_images_and_oversize_files_are_refused(data, message):
    with pytest.raises(PhotoRejected, match=message):
        clean_photo(data)


def upload(client, patient, data, name="photo.jpg", **extra):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fields = {"kind": "before", "area": "Crown", "taken_on": "2026-11-01", "note": "", **extra}
    return client.post(
        reverse("patients:photos", args=[patient.public_id]),
        {**fields, "image": SimpleUploadedFile(name, data, content_type="image/jpeg")},
    )


def test_practitioner_uploads_compares_and_views_photos(practitioner_client, patient):
    assert upload(practitioner_client, patient, jpeg_with_gps()).status_code == 302
    assert (
        upload(
            practitioner_client, patient, jpeg_with_gps(), kind="after", taken_on="2026-11-20"
        ).status_code
        == 302
    )
    photos = list(ClinicalPhoto.objects.order_by("taken_on"))
    assert len(photos) == 2
    assert photos[0].image.name.startswith(f"photos/{patient.public_id}/")
    page = practitioner_client.get(reverse("patients:photos", args=[patient.public_id]))
    comparison = page.context["comparisons"][0]
    assert (comparison.first, comparison.latest) == (photos[0], photos[1])
    served = practitioner_client.get(
        reverse("patients:photo_file", args=[patient.public_id, photos[0].public_id])
    )
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    body = b"".join(served.streaming_content)
    assert not Image.open(io.BytesIO(body)).getexif()
    assert "no-store" in served["Cache-Control"]
    assert (
        AuditEvent.objects.filter(
            patient_id=patient.pk, object_type="patients.ClinicalPhoto", action="create"
        ).count()
        == 2
    )


def test_front_desk_cannot_see_photos_and_other_patients_ids_do_not_work(
    frontdesk, practitioner_client, patient
):
    from django.test import Client

    from tests.factories import PatientFactory

    frontdesk_client = Client()
    frontdesk_client.force_login(frontdesk)
    upload(practitioner_client, patient, jpeg_with_gps())
    photo = ClinicalPhoto.objects.get()
    url = reverse("patients:photo_file", args=[patient.public_id, photo.public_id])
    assert frontdesk_client.get(url).status_code == 403
    other = PatientFactory()
    wrong = reverse("patients:photo_file", args=[other.public_id, photo.public_id])
    assert practitioner_client.get(wrong).status_code == 404


def test_bad_uploads_save_nothing(practitioner_client, patient):
    response = upload(practitioner_client, patient, b"%PDF-1.4 not an image", name="scan.jpg")
    assert response.status_code == 200
    assert "not a photo" in str(response.context["form"].errors)
    response = upload(practitioner_client, patient, jpeg_with_gps(), taken_on="2999-01-01")
    assert "future" in str(response.context["form"].errors)
    assert not ClinicalPhoto.objects.exists()
