"""Redirect targets taken from the request ("next", "back") stay on this site."""

from __future__ import annotations

import pytest

from projectflow.core.web import same_site_path


@pytest.mark.parametrize("target", ["/student", "/cohorts/1/catalogue?q=vision&page=2", "/"])
def test_paths_of_this_site_are_kept(target):
    assert same_site_path(target) == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com", "\\\\evil.example.com",
    "javascript:alert(1)", "student", "/ok\\..\\evil",
])
def test_anything_that_could_leave_the_site_is_dropped(target):
    assert same_site_path(target) is None


def test_bookmarking_with_a_backslash_next_stays_on_the_site(login, make, cohort, student):
    project = make.project(cohort)
    client = login(student)
    response = client.post(f"/projects/{project.id}/bookmark", data={"next": "/\\evil.example.com"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{project.id}"
