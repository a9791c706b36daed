"""What a reader sees: footnote marks explained, a ratio in words, version 0's date, a favicon, one sentence
once, and the seed's corrected country."""

import importlib

from django.apps import apps as django_apps

from evidence.models import ReviewVersion, Study

URL = "/reviews/msc-ssc/"


def test_the_sof_footnote_marks_are_explained_under_the_table(client, seeded):
    body = client.get(URL).content.decode()

    legend = body[body.index('<dl class="sof-marks">') : body.index("</dl>", body.index('<dl class="sof-marks">'))]
    for mark, domain in (
        ("*", "study design"),
        ("a", "inconsistency"),
        ("b", "imprecision"),
        ("c", "small-study effects"),
    ):
        assert f"<dt>({mark})</dt><dd>Certainty downgraded one level for {domain}.</dd>" in legend
    assert "the text of its footnotes was not retrieved" in body


def test_the_digital_ulcer_ratio_is_stated_in_words(client, seeded):
    body = client.get(URL).content.decode()

    assert "Digital ulcers: ratio 21.10 (3.63 to 122.56) at 6 months in 4 studies, 36 patients" in body
    assert "A ratio of 1 would mean no change; the whole interval lies above 1." in body
    assert "does not say whether this is an odds ratio or a risk ratio" in body


def test_version_0_is_dated_by_the_publication_it_imports(client, seeded):
    version = ReviewVersion.objects.get(review=seeded, number=0)

    body = client.get(f"{URL}v/0/").content.decode()

    assert str(version.dated) == "2022-03-21"
    assert "Version 0 of 21 March 2022" in body


def test_the_favicon_answers(client, seeded):
    response = client.get("/favicon.ico")
    assert response.status_code in (200, 301, 302)
    assert response.headers["Location"].endswith("evidence/favicon.svg")
    assert 'rel="icon"' in client.get(URL).content.decode()


def test_an_outcome_page_says_each_plain_sentence_once(client, seeded):
    body = client.get(f"{URL}outcomes/mrss/").content.decode()
    sentence = "fell by 5.09 points (95% CI 3.38 to 6.81) at 6 months in 5 studies, 52 patients"
    assert body.count(sentence) == 1


def test_almadori_is_from_the_united_kingdom_with_its_source(seeded):
    almadori = Study.objects.get(review=seeded, label="Almadori 2019")
    assert almadori.country == "United Kingdom"
    assert "discovery.ucl.ac.uk/id/eprint/10078860" in almadori.data_quality_notes


def test_the_data_migration_corrects_a_database_loaded_before(seeded):
    almadori = Study.objects.get(review=seeded, label="Almadori 2019")
    Study.objects.filter(pk=almadori.pk).update(
        country="America (Cui Table 1)", data_quality_notes="Country: questionable\nother note"
    )
    version = ReviewVersion.objects.get(review=seeded, number=0)
    version.analysis_settings.pop("source_published_on")
    ReviewVersion.objects.filter(pk=version.pk).update(analysis_settings=version.analysis_settings)

    importlib.import_module("evidence.migrations.0017_ux").correct_seed(django_apps, None)

    almadori.refresh_from_db()
    version.refresh_from_db()
    assert almadori.country == "United Kingdom"
    assert (
        almadori.data_quality_notes.endswith("\nother note")
        and "Country: questionable" not in almadori.data_quality_notes
    )
    assert str(version.dated) == "2022-03-21"
