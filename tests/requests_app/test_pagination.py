"""Page links keep the filters the user chose."""

from requests_app import services


def test_the_next_page_link_keeps_the_status_filter(client, partner):
    for n in range(27):
        services.request_create(by=partner, data={"title": f"Draft {n}"})
    client.force_login(partner)
    html = client.get("/requests/?status=draft").content.decode()
    assert 'href="?status=draft&amp;page=2"' in html
