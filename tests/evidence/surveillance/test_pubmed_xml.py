"""The PubMed XML parser against the recorded NCBI responses in tests/data/eutils."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.surveillance.pubmed_xml import (
    PubDate,
    PubmedXmlError,
    RegistryId,
    iter_citations,
    parse_citations,
    parse_esearch,
)
from tests.eutils_replay import (
    ArticleSpec,
    article_xml,
    articleset_xml,
    build_records_xml,
    cassette_replies,
    fixture_bytes,
)

_DAY = dt.date(2023, 5, 1)


def only(name: str):
    """The single record of a one-record fixture."""
    (citation,) = parse_citations(fixture_bytes(name))
    return citation


def cassette_citation():
    ((_, reply),) = cassette_replies("cassette_efetch_pubmed_rct_with_headers.yaml")
    (citation,) = parse_citations(reply.body)
    return citation


def spec_xml(**fields) -> bytes:
    spec = ArticleSpec(pmid="90000001", title="A title.", created=_DAY, **fields)
    return articleset_xml([article_xml(spec)])


EXPECTED_PMIDS = {
    "efetch_pubmed_book_article.xml": ["20301577"],
    "efetch_pubmed_erratumin.xml": ["35649368"],
    "efetch_pubmed_german_vernacular.xml": ["38048813"],
    "efetch_pubmed_living_guideline_updatein.xml": ["32887691"],
    "efetch_pubmed_mathml_orcid_reflist.xml": ["29963580"],
    "efetch_pubmed_noabstract_season.xml": ["12091962", "9997"],
    "efetch_pubmed_published_erratum.xml": ["38833988"],
    "efetch_pubmed_rct_databank_nct.xml": ["29768149"],
    "efetch_pubmed_retracted.xml": ["993"],
    "efetch_pubmed_structured_abstract_commentin.xml": ["27797938"],
    "efetch_pubmed_title_inline_markup.xml": ["30108519"],
    "efetch_pubmed_two_languages_nonascii.xml": ["36987902"],
    "efetch_pubmed_two_records_affiliation.xml": ["11748933", "11700088"],
}


# ------------------------------------------------------------ every fixture


@pytest.mark.parametrize("name", sorted(EXPECTED_PMIDS))
def test_it_parses_every_recorded_efetch_fixture(name):
    citations = parse_citations(fixture_bytes(name))

    assert [c.pmid for c in citations] == EXPECTED_PMIDS[name]
    for citation in citations:
        assert citation.title and citation.languages
        assert citation.pub_date.year is not None
        assert "<" not in citation.title, "inline markup must be flattened"


# -------------------------------------------------------------- title, text


def test_it_flattens_inline_markup_in_titles():
    given_title = only("efetch_pubmed_title_inline_markup.xml").title
    tert = only("efetch_pubmed_structured_abstract_commentin.xml").title

    assert given_title.startswith('A "Blood Relationship" Between the Overlooked')
    assert tert == (
        "Leucocyte telomere length, genetic variants at the TERT gene region and risk of pancreatic cancer."
    )


def test_it_flattens_mathml_in_the_abstract():
    citation = only("efetch_pubmed_mathml_orcid_reflist.xml")

    assert "inhaled He 3 / Xe 129 MRI ventilation" in citation.abstract_text
    assert "mml" not in citation.abstract_text


@pytest.mark.parametrize(
    "text",
    [
        "A clean paragraph, single-spaced and well over forty characters long.",
        "A paragraph\twith a tab,\u00a0a no-break space and  two spaces in a row.",
        " A paragraph that starts with a space and ends with one, over forty. ",
        "A paragraph with an em space\u2003a line separator\u2028and a next line\x85too.",
    ],
)
def test_it_squashes_whitespace_in_long_text_as_in_short(text):
    body = spec_xml(abstract=(("METHODS", text),))

    (citation,) = parse_citations(body)

    assert citation.abstract[0].text == " ".join(text.split())


def test_it_keeps_an_undeclared_entity_reference_in_marked_up_text():
    # Only a document with an external DTD (never loaded) can hold one; PubMed sends none.
    record = (
        b"<PubmedArticle><MedlineCitation><PMID>1</PMID><Article>"
        b"<ArticleTitle>Alpha &beta; <i>gamma</i></ArticleTitle><Language>eng</Language>"
        b"</Article></MedlineCitation></PubmedArticle>"
    )

    (citation,) = parse_citations(articleset_xml([record]))

    assert citation.title == "Alpha &beta; gamma"


def test_it_reads_a_labelled_abstract():
    citation = only("efetch_pubmed_structured_abstract_commentin.xml")

    labels = [s.label for s in citation.abstract]
    assert labels == ["OBJECTIVE", "DESIGN", "RESULTS", "CONCLUSIONS"]
    paragraphs = citation.abstract_text.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("OBJECTIVE: Telomere shortening occurs")


def test_it_keeps_the_nlm_category_of_abstract_sections():
    citation = cassette_citation()

    assert citation.abstract[0].label == "BACKGROUND"
    assert citation.abstract[0].nlm_category == "BACKGROUND"


def test_it_reads_an_unlabelled_abstract_as_one_paragraph():
    citation = only("efetch_pubmed_erratumin.xml")

    assert len(citation.abstract) == 1
    assert citation.abstract[0].label is None
    assert citation.abstract_text.startswith("Overcoming resistance to chemotherapies")


def test_it_gives_an_empty_abstract_when_there_is_none():
    citation = parse_citations(fixture_bytes("efetch_pubmed_noabstract_season.xml"))[0]

    assert citation.abstract == () and citation.abstract_text == ""


def test_it_reads_the_vernacular_title_and_two_languages():
    citation = only("efetch_pubmed_two_languages_nonascii.xml")

    assert citation.languages == ("eng", "nor")
    assert citation.vernacular_title.startswith("Pasienter over 75 år innlagt")
    assert [s.label for s in citation.abstract][1] == "MATERIAL AND METHOD"


def test_it_reads_a_german_record_with_its_original_title():
    citation = only("efetch_pubmed_german_vernacular.xml")

    assert citation.languages == ("ger",)
    assert citation.title.startswith("[A Broader Scope")
    assert citation.vernacular_title.startswith("A Broader Scope – Bio-psycho-soziale")


# ---------------------------------------------------------------- authors


def test_it_keeps_collective_names_as_authors():
    mathml = only("efetch_pubmed_mathml_orcid_reflist.xml")
    aspire = cassette_citation()

    assert mathml.authors[0] == "Guo F"
    assert mathml.authors[-1] == "Canadian Respiratory Research Network"
    assert mathml.first_author_last_name == "Guo"
    assert "ASPIRE Investigators" in aspire.authors


def test_it_keeps_non_ascii_names():
    norwegian = only("efetch_pubmed_two_languages_nonascii.xml")

    assert norwegian.authors[:3] == ("Bruserud Ø", "Arnes K", "Kjørsvik CR")


# ------------------------------------------------------- journal and dates


def test_it_reads_the_journal():
    journal = only("efetch_pubmed_rct_databank_nct.xml").journal

    assert journal.title == "The New England journal of medicine"
    assert journal.iso_abbreviation == "N Engl J Med"
    assert (journal.volume, journal.issue, journal.pages) == ("378", "20", "1865-1876")


def test_it_reads_a_season_as_its_first_month():
    citation = parse_citations(fixture_bytes("efetch_pubmed_noabstract_season.xml"))[0]

    assert citation.pub_date == PubDate(year=1990, month=3, day=None, raw="1990 Spring")


@pytest.mark.parametrize(
    ("medline_date", "year", "month"),
    [
        ("1998 Dec-1999 Jan", 1998, 12),
        ("2000 Spring", 2000, 3),
        ("2001 Winter", 2001, 12),
        ("1975 Jul-Aug", 1975, 7),
        ("2002", 2002, None),
        ("Summer 2003", 2003, None),
    ],
)
def test_it_reads_a_medline_date(medline_date, year, month):
    body = fixture_bytes("efetch_pubmed_rct_databank_nct.xml")
    start, end = body.index(b"<PubDate>"), body.index(b"</PubDate>")
    body = body[:start] + f"<PubDate><MedlineDate>{medline_date}</MedlineDate>".encode() + body[end:]

    (citation,) = parse_citations(body)

    assert citation.pub_date == PubDate(year=year, month=month, day=None, raw=medline_date)


def test_it_reads_year_month_day():
    citation = only("efetch_pubmed_two_languages_nonascii.xml")

    assert citation.pub_date == PubDate(year=2023, month=3, day=28, raw="2023 Mar 28")


# -------------------------------------------------------------- identifiers


def test_it_takes_the_doi_from_the_article_not_the_reference_list():
    body = fixture_bytes("efetch_pubmed_mathml_orcid_reflist.xml")
    own_doi = b"10.1117/1.JMI.5.2.026002"
    assert body.count(b'IdType="doi"') > 1, "the fixture's references carry DOIs"

    citation = only("efetch_pubmed_mathml_orcid_reflist.xml")
    (without_own,) = parse_citations(body.replace(own_doi, b""))

    assert citation.doi == own_doi.decode()
    assert citation.pmcid == "PMC6022861"
    assert without_own.doi is None


def test_it_reads_the_doi_from_the_article_id_list_without_elocation():
    citation = parse_citations(fixture_bytes("efetch_pubmed_noabstract_season.xml"))[1]

    assert citation.doi == "10.1016/0005-2795(76)90109-4"


def test_it_reads_the_databank_nct_id_once():
    citation = only("efetch_pubmed_rct_databank_nct.xml")

    assert "NCT02149199" in citation.abstract_text
    assert citation.registry_ids == (RegistryId("ClinicalTrials.gov", "NCT02149199", "databank"),)


def test_it_finds_an_actrn_number_in_the_abstract_text():
    citation = cassette_citation()

    assert citation.registry_ids == (RegistryId("ANZCTR", "ACTRN12605000004662", "text"),)


@pytest.mark.parametrize(
    ("text", "registry", "accession"),
    [
        ("registered at ISRCTN12345678.", "ISRCTN", "ISRCTN12345678"),
        ("(ChiCTR2000029559)", "ChiCTR", "ChiCTR2000029559"),
        ("ChiCTR-IOR-15006555.", "ChiCTR", "ChiCTR-IOR-15006555"),
        ("EudraCT number: 2015-001234-56.", "EudraCT", "2015-001234-56"),
        ("DRKS00012345", "DRKS", "DRKS00012345"),
        ("UMIN000012345", "UMIN-CTR", "UMIN000012345"),
        ("CTRI/2020/05/025123", "CTRI", "CTRI/2020/05/025123"),
    ],
)
def test_it_finds_other_registry_numbers_in_the_abstract(text, registry, accession):
    body = spec_xml(abstract=(("METHODS", f"Trial {text} Twice: {text}"),))

    (citation,) = parse_citations(body)

    assert citation.registry_ids == (RegistryId(registry, accession, "text"),)


def test_it_finds_a_registry_number_only_as_a_whole_word():
    text = "Not XNCT01234567 nor NCT012345678, but NCT07654321 (NCT07654321)."
    body = spec_xml(abstract=(("METHODS", text),))

    (citation,) = parse_citations(body)

    assert citation.registry_ids == (RegistryId("ClinicalTrials.gov", "NCT07654321", "text"),)


def test_it_reads_publication_types_mesh_and_keywords():
    rct = only("efetch_pubmed_rct_databank_nct.xml")
    norwegian = only("efetch_pubmed_two_languages_nonascii.xml")
    book = only("efetch_pubmed_book_article.xml")

    assert "Randomized Controlled Trial" in rct.publication_types
    mesh = {m.descriptor: m.major_topic for m in norwegian.mesh_terms}
    assert mesh["Frailty"] is True and mesh["Humans"] is False
    assert book.keywords.count("Timothy Syndrome") == 1


# ----------------------------------------------------- corrections, books


def test_it_flags_a_retraction():
    citation = only("efetch_pubmed_retracted.xml")

    assert citation.is_retracted
    assert [(c.reftype, c.pmid) for c in citation.corrections] == [("RetractionIn", "195582")]


def test_it_flags_an_erratum():
    citation = only("efetch_pubmed_erratumin.xml")

    assert citation.has_erratum and not citation.is_retracted
    assert citation.corrections[0].pmid == "35767954"
    assert citation.corrections[0].refsource.startswith("Cell Rep. 2022 Jun 28")


def test_it_flags_updates_of_a_living_guideline():
    citation = only("efetch_pubmed_living_guideline_updatein.xml")

    kinds = [c.reftype for c in citation.corrections]
    assert kinds.count("UpdateIn") == 4 and kinds.count("ErratumIn") == 1
    assert "CommentIn" not in kinds
    assert citation.has_update and citation.has_erratum


def test_it_flags_an_expression_of_concern():
    body = fixture_bytes("efetch_pubmed_erratumin.xml")
    body = body.replace(b'RefType="ErratumIn"', b'RefType="ExpressionOfConcernIn"')

    (citation,) = parse_citations(body)

    assert citation.has_expression_of_concern and not citation.has_erratum


def test_it_does_not_flag_an_erratum_notice_itself():
    citation = only("efetch_pubmed_published_erratum.xml")

    assert citation.publication_types == ("Published Erratum",)
    assert citation.corrections == () and not citation.has_erratum


def test_it_parses_a_book_chapter():
    citation = only("efetch_pubmed_book_article.xml")

    assert citation.is_book
    assert citation.title == "CACNA1C-Related Disorders"
    assert citation.journal.title == "GeneReviews®"
    assert citation.authors == ("Napolitano C", "Priori SG"), "editors are not authors"
    assert citation.abstract[0].label == "CLINICAL CHARACTERISTICS"
    assert citation.pub_date.year == 1993


# ------------------------------------------------------------------ esearch


def test_it_parses_an_esearch_result():
    result = parse_esearch(fixture_bytes("esearch_pubmed_basic.xml"))

    assert (result.count, result.retmax, result.retstart) == (63, 20, 0)
    assert result.ids[0] == "41282813" and len(result.ids) == 20
    assert result.query_translation == '"biopython"[All Fields]'
    assert result.error is None and result.errors == ()


def test_it_parses_history_and_paging_fields():
    history = parse_esearch(fixture_bytes("esearch_pubmed_usehistory_reldate.xml"))
    paging = parse_esearch(fixture_bytes("esearch_pubmed_retstart_paging.xml"))

    assert history.query_key == "1"
    assert history.webenv == "MCID_6927d6e7fee3e90f880ec190"
    assert (paging.count, paging.retstart, paging.retmax) == (2651, 6, 6)


def test_it_parses_phrase_not_found_as_an_empty_result():
    result = parse_esearch(fixture_bytes("esearch_empty_phrasenotfound.xml"))

    assert result.count == 0 and result.ids == ()
    assert result.errors == (("PhraseNotFound", "abcXYZ"),)
    assert result.warnings == (("OutputMessage", "No items found."),)


def test_it_parses_a_partial_error_list_beside_results():
    result = parse_esearch(fixture_bytes("esearch_partial_errorlist.xml"))

    assert result.count == 5163 and len(result.ids) == 20
    assert result.errors == (("PhraseNotFound", "fleegle[MeSH Terms]"),)


def test_it_parses_a_top_level_error():
    result = parse_esearch(fixture_bytes("esearch_error_invalid_db.xml"))

    assert result.error == "Invalid db name specified: fleegle"


def test_it_refuses_a_non_esearch_document():
    with pytest.raises(PubmedXmlError, match="expected an eSearchResult"):
        parse_esearch(fixture_bytes("efetch_pubmed_erratumin.xml"))


# ----------------------------------------------------------------- hardening

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>
<Article><ArticleTitle>&xxe;</ArticleTitle><Language>eng</Language></Article>
</MedlineCitation></PubmedArticle></PubmedArticleSet>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID>
<Article><ArticleTitle>&lol9;</ArticleTitle><Language>eng</Language></Article>
</MedlineCitation></PubmedArticle></PubmedArticleSet>"""


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["external-entity", "billion-laughs"])
def test_it_refuses_entity_declarations(payload):
    with pytest.raises(PubmedXmlError, match=r"declares entities .* refused"):
        parse_citations(payload)


def test_it_refuses_entity_declarations_in_esearch_results():
    payload = LAUGHS.replace(b"PubmedArticleSet", b"eSearchResult")

    with pytest.raises(PubmedXmlError, match="declares entities"):
        parse_esearch(payload)


def test_it_refuses_malformed_xml():
    truncated = fixture_bytes("efetch_pubmed_erratumin.xml")[:-200]

    with pytest.raises(PubmedXmlError, match="malformed PubMed XML"):
        parse_citations(truncated)
    with pytest.raises(PubmedXmlError, match="malformed esearch XML"):
        parse_esearch(b"<eSearchResult><Count>1</Count>")


def test_it_refuses_oversized_input():
    body = fixture_bytes("efetch_pubmed_erratumin.xml")

    with pytest.raises(PubmedXmlError, match="over the 1,000-byte limit"):
        parse_citations(body, max_bytes=1_000)


def test_it_refuses_an_efetch_error_document_instead_of_an_empty_set():
    error = b"<eFetchResult><ERROR>Empty id list - nothing todo</ERROR></eFetchResult>"

    with pytest.raises(PubmedXmlError, match="expected a PubmedArticleSet"):
        parse_citations(error)
    assert parse_citations(b"<PubmedArticleSet></PubmedArticleSet>") == []


def test_it_refuses_a_record_without_pmid():
    body = spec_xml().replace(b'<PMID Version="1">90000001</PMID>', b"")

    with pytest.raises(PubmedXmlError, match="without a PMID"):
        parse_citations(body)


def test_it_streams_many_records_in_order():
    body = build_records_xml(300, first_pmid=70_000_001)

    pmids = [c.pmid for c in iter_citations(body)]

    assert pmids == [str(70_000_001 + i) for i in range(300)]


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60))
def test_it_round_trips_any_title_text(title):
    spec = ArticleSpec(pmid="90000002", title=title, created=_DAY)

    (citation,) = parse_citations(articleset_xml([article_xml(spec)]))

    assert citation.title == " ".join(title.split())
