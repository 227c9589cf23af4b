"""Files on engagements (CONTRACT.md, "People, notes, attachments, timeline, search"):
stored through the storage API, never public, downloaded through the gate as attachments
named with their marking, typed by their bytes, refused when too large, gone with their
engagement."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEntry
from engagements.models import Attachment, Engagement
from engagements.services import delete_engagement, save_attachment
from tests.factories import api_client, make_engagement

pytestmark = pytest.mark.usefixtures("reference_data")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
FIELDS = {
    "id",
    "title",
    "filename",
    "size",
    "content_type",
    "marking",
    "uploaded_by",
    "at",
    "download",
}


@pytest.fixture
def engagement(analyst_nu):
    return make_engagement(title="Staff talks", created_by=analyst_nu)


def upload(user, engagement, name="minutes.pdf", content=PDF, claimed="text/html", **fields):
    return api_client(user).post(
        f"/api/v1/engagements/{engagement.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=claimed), **fields},
        format="multipart",
    )


def test_a_file_is_uploaded_typed_by_its_bytes_and_downloaded_through_the_gate(
    engagement, analyst_nu
):
    response = upload(analyst_nu, engagement, title="Minutes", marking="NU")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert (body["filename"], body["size"], body["content_type"], body["uploaded_by"]) == (
        "minutes.pdf",
        len(PDF),
        "application/pdf",  # not the text/html the client claimed
        analyst_nu.username,
    )
    stored = Attachment.objects.get()
    assert not stored.file.name.endswith("minutes.pdf")  # stored under a random name
    download = api_client(analyst_nu).get(body["download"])
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="minutes-NU.pdf"'
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF
    entry = AuditEntry.objects.filter(action="download").latest("sequence")
    assert (entry.username, entry.object_type, entry.marking) == (
        analyst_nu.username,
        "attachment",
        "NU",
    )
    listed = api_client(analyst_nu).get(f"/api/v1/engagements/{engagement.pk}/attachments/")
    assert [item["id"] for item in listed.json()] == [body["id"]]


def test_a_page_sent_as_a_file_is_never_served_as_a_page(engagement, analyst_nu):
    body = upload(analyst_nu, engagement, "x.html", b"<script>alert(1)</script>").json()
    assert body["content_type"] == "text/plain"
    download = api_client(analyst_nu).get(body["download"])
    assert download["Content-Type"] == "text/plain"
    assert download["Content-Disposition"].startswith("attachment;")


def test_a_file_too_large_is_refused_from_its_length_before_it_is_read(engagement, analyst_nu):
    response = api_client(analyst_nu).post(
        f"/api/v1/engagements/{engagement.pk}/attachments/",
        {"file": SimpleUploadedFile("big.pdf", PDF)},
        format="multipart",
        CONTENT_LENGTH=str(26 * 1024 * 1024),
    )
    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_a_file_is_never_marked_above_its_uploaders_clearance(engagement, analyst_nu):
    response = upload(analyst_nu, engagement, marking="NS")
    assert response.status_code == 400 and "above your clearance" in str(response.json())
    assert not Attachment.objects.exists() and not default_storage.exists("attachments")


def test_a_file_above_the_readers_clearance_shows_nowhere(
    client, engagement, analyst_nu, analyst_ns
):
    secret = upload(analyst_ns, engagement, "pulsar.pdf", marking="NS").json()
    hidden = make_engagement(marking="NS")
    on_hidden = upload(analyst_ns, hidden, "nebula.pdf").json()
    reader = api_client(analyst_nu)
    assert reader.get(f"/api/v1/engagements/{engagement.pk}/attachments/").json() == []
    assert reader.get(secret["download"]).status_code == 404
    assert reader.get(on_hidden["download"]).status_code == 404
    assert reader.get(f"/api/v1/engagements/{hidden.pk}/attachments/").status_code == 404
    client.force_login(analyst_nu)
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert "pulsar" not in page and "No files yet." in page
    assert client.post(f"/engagements/attachments/{secret['id']}/delete/").status_code == 404


def test_files_are_added_and_deleted_on_the_page(client, engagement, analyst_nu, analyst_ns):
    client.force_login(analyst_nu)
    response = client.post(
        f"/engagements/{engagement.pk}/attachments/",
        {"file": SimpleUploadedFile("agenda.txt", b"Agenda"), "title": "Agenda", "marking": "NU"},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    page = client.get(f"/engagements/{engagement.pk}/").content.decode()
    assert f"/api/v1/attachments/{attachment.pk}/download/" in page
    client.force_login(analyst_ns)  # not theirs to delete
    assert client.post(f"/engagements/attachments/{attachment.pk}/delete/").status_code == 404
    client.force_login(analyst_nu)
    assert client.post(f"/engagements/attachments/{attachment.pk}/delete/").status_code == 302
    assert not Attachment.objects.exists()


def test_files_go_with_their_engagement(
    engagement, analyst_nu, admin_ns, django_capture_on_commit_callbacks
):
    attachment = save_attachment(analyst_nu, engagement.pk, SimpleUploadedFile("a.pdf", PDF))
    name = attachment.file.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        delete_engagement(admin_ns, engagement.pk, Engagement.objects.get().version)
    assert not Attachment.objects.exists() and not default_storage.exists(name)


def test_the_files_list_costs_the_same_queries_however_many(
    engagement, analyst_nu, django_assert_num_queries
):
    reader = api_client(analyst_nu)
    for number in range(4):
        save_attachment(analyst_nu, engagement.pk, SimpleUploadedFile(f"{number}.pdf", PDF))
    reader.get(f"/api/v1/engagements/{engagement.pk}/attachments/")
    # the engagement through its gate; the files with their uploaders
    with django_assert_num_queries(2):
        response = reader.get(f"/api/v1/engagements/{engagement.pk}/attachments/")
    assert len(response.json()) == 4
