"""Rules that follow what a page is: kinds, boilerplate, dates in words, bylines, embedded text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelines.authors import normalize_authors
from pipelines.dates import date_in_words
from pipelines.extract import extract_article
from pipelines.markers import load_markers
from pipelines.metadata import parse_datetime, without_site_suffix

PARAGRAPHS = [
    "The regional water board confirmed on Friday that the reservoir had reached its lowest"
    " level in two decades, and announced restrictions on garden watering from next week.",
    "Officials said the measures would stay in place until autumn rains refill the basin,"
    " and asked households to report leaks in the public network as soon as they see them.",
    "Farmers will receive separate quotas, negotiated with their unions, the board added in"
    " a statement published on its website after a meeting that lasted most of the day.",
]
URL = "https://news.example.org/2024/03/07/reservoir-at-lowest-level-in-twenty-years"


TITLE = "Reservoir at lowest level in twenty years"


def page(body: str, head: str = "", title: str = TITLE) -> str:
    """An article page with BODY in its main block."""
    return (
        f"<html><head><title>{title}</title>{head}</head><body>"
        f"<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<div class='main'><h1>{title}</h1>{body}</div></body></html>"
    )


def paragraphs(*texts: str) -> str:
    """TEXTS as <p> elements."""
    return "".join(f"<p>{text}</p>" for text in texts)


def text_around(line: str) -> list[str]:
    """The extracted paragraphs of a page holding LINE between the first two PARAGRAPHS."""
    article = extract_article(page(paragraphs(PARAGRAPHS[0], line, *PARAGRAPHS[1:])), URL)
    assert article is not None
    return article.text.split("\n\n")


@pytest.mark.parametrize("heading", ["READ MORE:", "Lesen Sie auch", "Leggi anche", "Xem thêm",
                                     "Weitere Informationen", "About the author"])
def test_a_marker_removes_its_block_never_the_text_after_it(heading: str) -> None:
    """The teasers a marker heads go; the article's paragraphs after them stay."""
    html = page(
        paragraphs(PARAGRAPHS[0])
        + f"<h3>{heading}</h3><ul><li><a href='/a'>Goldfish festival draws crowds despite rain</a>"
        "</li><li><a href='/b'>Zeppelin museum extends its opening hours</a></li></ul>"
        + paragraphs(*PARAGRAPHS[1:])
    )
    article = extract_article(html, URL)
    assert article is not None
    assert PARAGRAPHS[2] in article.text
    assert "Goldfish" not in article.text
    assert heading.rstrip(":") not in article.text


@pytest.mark.parametrize("line", [
    "Xem thêm: <a href='/x'>Giá vàng hôm nay tăng mạnh</a>",
    "Lire aussi : <a href='/x'>Le festival de jazz attire un public record</a>",
    "Czytaj więcej: <a href='/x'>Nowy most otwarty dla pieszych</a>",
    "<a href='/x'>Zeppelin museum extends opening hours for the summer season</a>",
])
def test_read_also_lines_and_teaser_links_are_dropped(line: str) -> None:
    """A "read also" line or a paragraph that is wholly a link to another article is a teaser."""
    assert text_around(line) == PARAGRAPHS


@pytest.mark.parametrize("script", [
    "<script type='text/template'>&lt;p&gt;rendered by a script&lt;/p&gt;</script>", "",
])
def test_a_noscript_holding_the_article_is_read_a_notice_is_not(script: str) -> None:
    """A <noscript> with more text than the rest of the page is the page's text (what a script
    would render); a "please enable JavaScript" notice beside an article stays out."""
    notice = "<noscript>Please enable JavaScript to read the comments below.</noscript>"
    html = page(f"{script}<noscript>{paragraphs(*PARAGRAPHS)}</noscript>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS
    article = extract_article(page(paragraphs(*PARAGRAPHS) + notice), URL)
    assert article is not None
    assert "JavaScript" not in article.text


def test_newsletter_and_consent_boxes_are_dropped() -> None:
    """A sign-up box by its name and a consent placeholder by its phrase leave the body."""
    html = page(paragraphs(PARAGRAPHS[0])
                + "<div class='newsletter-signup'><p>Get the Morning Briefing in your inbox.</p>"
                "<button>Sign up</button></div>"
                + paragraphs("Externer Inhalt: um diesen Inhalt zu sehen, akzeptieren Sie Cookies.",
                             *PARAGRAPHS[1:]))
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS


@pytest.mark.parametrize("line", [
    "Der Minister am Freitag in Berlin. Foto: Anna Muster/Agentur",
    "Le ministre au Sénat (Crédits photos : Agence Exemple)",
    "Abbildung 3: Aufbau der Messstation",
    "(Credit: Jane Doe / Example Images)",
    "© 2024 Example Media Ltd. All rights reserved.",
    "Ảnh: Minh Hoàng",
    "*Werbung. Dieser Beitrag enthält Werbung für eine Marke.",
    "ANZEIGE - Heute mal ausgehen?",
    "Filed under",
    "Category : Press Releases",
    "23.10.2018",
])
def test_captions_credits_adverts_and_taxonomy_lines_are_dropped(line: str) -> None:
    """A picture credit, a copyright notice, an advertising label, a taxonomy line or a bare
    date is not text."""
    assert text_around(line) == PARAGRAPHS


@pytest.mark.parametrize("line", [
    "The picture: a reservoir at its lowest level, with the old village church showing again.",
    "Werbung ist für die Wasserwerke kein Thema, sagte die Sprecherin des Verbands dazu.",
    "Categories of users will be treated differently, the board said after the meeting.",
])
def test_prose_that_starts_like_a_label_stays(line: str) -> None:
    """A sentence holding a label word without its punctuation is article text."""
    assert line in text_around(line)


@pytest.mark.parametrize("labels", [["Mehr Themen:"], ["Weitere Informationen:", "Kontakt:"]])
def test_labels_that_end_the_body_head_nothing(labels: list[str]) -> None:
    """A short "label:" line left at the end of the body, with nothing after it, is dropped."""
    html = page(paragraphs(*PARAGRAPHS, *labels))
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS


@pytest.mark.parametrize(("text", "language", "expected"), [
    ("Publié le 7 mars 2024 à 10h10", "fr", datetime(2024, 3, 7, 10, 10, tzinfo=UTC)),
    ("7 marzo 2024", "it", datetime(2024, 3, 7, tzinfo=UTC)),
    ("Thứ năm, ngày 7/3/2024 - 10:10 (GMT+7)", "vi",
     datetime(2024, 3, 7, 10, 10, tzinfo=timezone(timedelta(hours=7)))),
    ("Veröffentlicht am 7. März 2024, 10:10 Uhr", "de", datetime(2024, 3, 7, 10, 10, tzinfo=UTC)),
    ("By Jane Roe - January 10, 2024 21 minutes - 4312 words", "en",
     datetime(2024, 1, 10, tzinfo=UTC)),
    ("Ausgabejahr 2024 Datum 07.03.2024", "de", datetime(2024, 3, 7, tzinfo=UTC)),
    ("geschrieben von leser2012 am 7. März 2024, 10:10", "de",
     datetime(2024, 3, 7, 10, 10, tzinfo=UTC)),
])
def test_dates_in_words(text: str, language: str, expected: datetime) -> None:
    """Dates written in words or numbers, in several languages, with a stated zone kept; never
    relative to today ("21 minutes"), nor from a year that is no date's ("Ausgabejahr 2024")."""
    assert date_in_words(text, language) == expected


@pytest.mark.parametrize(("shown", "expected"), [
    ("March 7, 2024 at 10:37 p.m.", "2024-03-07T22:37:37-05:00"),  # the publisher's day
    ("March 8, 2024 at 3:37 a.m.", "2024-03-08T03:37:37+00:00"),  # shown in UTC
    ("March 7, 2024 at 10:12 p.m.", "2024-03-08T03:37:37+00:00"),  # another time: kept
    ("March 7, 2024", "2024-03-08T03:37:37+00:00"),  # no time of day: kept
])
def test_a_stated_time_takes_the_zone_the_page_shows_it_in(shown: str, expected: str) -> None:
    """A UTC time in JSON-LD is given in the zone whose wall clock the page's byline shows."""
    ld = json.dumps({"@type": "NewsArticle", "headline": TITLE,
                     "datePublished": "2024-03-08T03:37:37Z"})
    html = page(f"<p class='byline'>By Jane Roe</p><time>{shown}</time>" + paragraphs(*PARAGRAPHS),
                head=f"<script type='application/ld+json'>{ld}</script>")
    undated_url = URL.replace("/2024/03/07/", "/news/")  # no day in the URL to go by
    article = extract_article(html.replace("<html>", "<html lang='en'>"), undated_url)
    assert article is not None
    assert article.published_at is not None
    assert article.published_at.isoformat() == expected


@pytest.mark.parametrize(("stated", "expected"), [
    ("2024-03-06T23:11:59Z", "2024-03-07T00:11:59+01:00"),  # the URL's day, nearest zone
    ("2024-03-08T02:25:54Z", "2024-03-07T23:25:54-03:00"),
    ("2024-03-08T00:00:00Z", "2024-03-08T00:00:00+00:00"),  # a day, not an instant: kept
    ("2024-03-08T02:25:54+01:00", "2024-03-08T02:25:54+01:00"),  # a zone stated: kept
    ("2024-03-09T02:25:54Z", "2024-03-09T02:25:54+00:00"),  # two days off: kept
])
def test_a_utc_time_is_given_on_the_day_its_url_names(stated: str, expected: str) -> None:
    """A UTC time a day off the /yyyy/mm/dd/ day of its URL is given in the nearest zone that
    puts it on that day (the page shows no time of day to take the zone from)."""
    ld = json.dumps({"@type": "NewsArticle", "headline": TITLE, "datePublished": stated})
    html = page(paragraphs(*PARAGRAPHS), head=f"<script type='application/ld+json'>{ld}</script>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.published_at is not None
    assert article.published_at.isoformat() == expected


def test_json_ld_date_created_stands_in_for_date_published() -> None:
    """A page whose JSON-LD states only dateCreated is dated by it, not by the site's header
    date of the day it was fetched."""
    ld = json.dumps({"@type": "NewsArticle", "headline": TITLE,
                     "dateCreated": "2024-03-07T17:58:19+01:00"})
    html = page("<span class='header-date'>Mittwoch, 8. Juli 2026</span>" + paragraphs(*PARAGRAPHS),
                head=f"<script type='application/ld+json'>{ld}</script>")
    article = extract_article(html.replace("<html>", "<html lang='de'>"), URL)
    assert article is not None
    assert article.published_at == datetime(2024, 3, 7, 17, 58, 19,
                                            tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(("shown", "expected"), [
    (["05.02.2020 - Redaktion: Jana Keller"], datetime(2020, 2, 5, tzinfo=UTC)),
    (["29.02.2020 18:00 Uhr", "04.04.2020 18:00 Uhr"], datetime(2020, 2, 12, tzinfo=UTC)),
    (["11.02.2020 22:10 Uhr"], datetime(2020, 2, 12, tzinfo=UTC)),
])
def test_a_page_level_meta_date_yields_to_the_one_day_the_page_shows(
    shown: list[str], expected: datetime
) -> None:
    """A CMS's <meta name="date"> dates the page record; the article's shown date wins, unless
    the page shows several days (a list of event dates) or one a day apart (another zone)."""
    dates_shown = "".join(f"<div class='news-date'>{text}</div>" for text in shown)
    html = page(dates_shown + paragraphs(*PARAGRAPHS),
                head="<meta name='date' content='2020-02-12'>")
    article = extract_article(html.replace("<html>", "<html lang='de'>"), URL)
    assert article is not None
    assert article.published_at == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.12.2022, 07:00:03", datetime(2022, 12, 10, 7, 0, 3, tzinfo=UTC)),
        ("01-11-2023 10:29", datetime(2023, 11, 1, 10, 29, tzinfo=UTC)),
        ("2023-11-01T10:29:00+01:00", datetime(2023, 11, 1, 10, 29,
                                                tzinfo=timezone(timedelta(hours=1)))),
    ],
)
def test_numeric_dates_with_the_year_last_are_day_first(value: str, expected: datetime) -> None:
    """A machine value "dd.mm.yyyy" or "dd-mm-yyyy" is read day first; ISO stays ISO."""
    assert parse_datetime(value) == expected


def test_names_are_split_and_the_site_is_never_an_author() -> None:
    """Several names split on "-", "và", "und"; the site's name or host is no author."""
    prefixes = load_markers().byline_prefixes
    assert normalize_authors(["Hà Linh - Quốc Tuấn"], prefixes) == ["Hà Linh", "Quốc Tuấn"]
    assert normalize_authors(["Von Anna Berger und Jonas Keller"], prefixes) == [
        "Anna Berger", "Jonas Keller"]
    assert normalize_authors(["VnExpress"], prefixes, url="https://vnexpress.net/x") == []
    assert normalize_authors(["Jane Doe", "The Gazette"], prefixes,
                             frozenset({"the gazette"})) == ["Jane Doe"]


def test_title_loses_the_site_suffix() -> None:
    """" | Site" goes when it names the site or its host; a headline's own colon stays."""
    assert without_site_suffix("Floods hit the north | The Gazette", ("The Gazette",),
                               URL) == "Floods hit the north"
    assert without_site_suffix("Floods hit the north - News Example", (), URL) == (
        "Floods hit the north")
    assert without_site_suffix("Budget: what changes in May", (), URL) == (
        "Budget: what changes in May")


def test_a_declared_brief_is_an_article() -> None:
    """Two short paragraphs (under 200 characters) on a page declaring an article are kept."""
    ld = {"@type": "NewsArticle", "headline": "Bridge closed after crash",
          "datePublished": "2024-03-07T08:00:00+01:00"}
    html = page(paragraphs("The north bridge is closed after a lorry crash.",
                           "Police expect it to reopen tonight."),
                head=f"<script type='application/ld+json'>{json.dumps(ld)}</script>",
                title="Bridge closed after crash")
    article = extract_article(html, URL)
    assert article is not None
    assert "reopen tonight" in article.text


def test_text_only_in_next_data_is_found() -> None:
    """A page whose article sits only in its Next.js data script still gives its text."""
    data = {"props": {"pageProps": {"story": {"title": "Reservoir", "blocks": [
        {"type": "paragraph", "text": text} for text in PARAGRAPHS]}}}}
    html = ("<html><head><title>Reservoir at lowest level in twenty years</title>"
            "<meta property='og:type' content='article'></head><body><div id='__next'></div>"
            f"<script id='__NEXT_DATA__' type='application/json'>{json.dumps(data)}</script>"
            "</body></html>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS


def test_text_only_in_a_react_flight_payload_is_found() -> None:
    """A page whose article is only in Next.js `self.__next_f.push` rows (a text row) is read."""
    html_body = "".join(f"<p>{text}</p>" for text in PARAGRAPHS)
    size = len(html_body.encode("utf-8"))
    rows = ['1:"$Sreact.fragment"\n2:I[123,[],"default"]\n', f"3:T{size:x},{html_body}",
            '4:["$","div",null,{"children":"$3"}]\n']
    pushes = "".join(f"<script>self.__next_f.push({json.dumps([1, row])})</script>"
                     for row in rows)
    html = ("<html><head><title>Reservoir at lowest level in twenty years</title>"
            "<meta property='og:type' content='article'></head><body><div id='app'></div>"
            f"<script>(self.__next_f=self.__next_f||[]).push([0])</script>{pushes}</body></html>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS


def test_json_ld_article_body_when_the_html_has_none() -> None:
    """The JSON-LD articleBody is the text when the HTML holds no body."""
    ld = {"@type": "NewsArticle", "headline": "Reservoir at lowest level in twenty years",
          "articleBody": "\n".join(PARAGRAPHS)}
    html = ("<html><head><title>Reservoir at lowest level in twenty years</title>"
            f"<script type='application/ld+json'>{json.dumps(ld)}</script></head>"
            "<body><div id='app'></div></body></html>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS


@pytest.mark.parametrize("path", ["/about-us", "/impressum", "/tag/energy", "/author/jane-doe",
                                  "/cookie-policy", "/search", "/"])
def test_non_article_pages(path: str) -> None:
    """About, imprint, tag, author, cookie, search and home pages are not articles."""
    html = page(paragraphs(*PARAGRAPHS), title="Our newsroom")
    assert extract_article(html, f"https://news.example.org{path}") is None


@pytest.mark.parametrize(("title", "path"), [
    ("Chính sách cookie | Báo Làng", "/chinh-sach-cookie.html"),
    ("Liên hệ | Báo Làng", "/lien-he-quang-cao.html"),
    ("Politique de confidentialité | Le Quotidien", "/politique-de-confidentialite"),
])
def test_pages_named_in_words_of_several_parts_are_not_articles(title: str, path: str) -> None:
    """A page kind's name written in several words or slug parts ("chính sách", "chinh-sach")
    counts as that name in titles and URLs, as one-word names do."""
    body = paragraphs(
        "Trang web này sử dụng cookie để ghi nhớ lựa chọn của bạn, đếm lượt truy cập và cải "
        "thiện trải nghiệm đọc. Cookie là những tệp nhỏ được lưu trên thiết bị của bạn.",
        "Bạn có thể tắt cookie trong phần cài đặt của trình duyệt. Khi đó, một số chức năng "
        "của trang như ghi nhớ cỡ chữ hoặc bình chọn có thể không hoạt động như mong muốn.",
        "Chúng tôi không bán hay chia sẻ dữ liệu thu thập qua cookie cho bên thứ ba.")
    assert extract_article(page(body, title=title), f"https://bao.example.org{path}") is None


def test_a_headline_that_starts_with_a_page_kind_phrase_is_an_article() -> None:
    """Words of a page kind's name inside a headline do not make it that page."""
    html = page(paragraphs(*PARAGRAPHS), title="Chính sách mới về nước sinh hoạt | Báo Làng")
    assert extract_article(html, "https://bao.example.org/chinh-sach-moi-ve-nuoc-sinh-hoat-"
                                 "20240307.html") is not None


def test_collection_page_holding_an_article_is_an_article() -> None:
    """A JSON-LD CollectionPage that also declares a NewsArticle is an article."""
    ld = {"@graph": [{"@type": "CollectionPage", "name": "News"},
                     {"@type": "NewsArticle", "headline": "Reservoir at lowest level"}]}
    html = page(paragraphs(*PARAGRAPHS),
                head=f"<script type='application/ld+json'>{json.dumps(ld)}</script>")
    assert extract_article(html, URL) is not None


LEAD = ("Households face watering limits from next week after the driest winter on record left"
        " the reservoir at a fraction of its usual volume.")


@pytest.mark.parametrize("lead", [
    f"<div class='intro'><strong>{LEAD}</strong></div>",
    f"<h2>{LEAD}</h2><div class='meta'>Por Lucía Ferrer · 7 de marzo de 2024</div>",
])
def test_the_standfirst_opens_the_text(lead: str) -> None:
    """A lead paragraph in an element of its own between the heading and the body comes first."""
    html = page(f"{lead}<div class='body'>{paragraphs(*PARAGRAPHS)}</div>")
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == [LEAD, *PARAGRAPHS]


@pytest.mark.parametrize("byline", ["Von Jana Keller", "By Anna Berger and Jonas Keller",
                                    "Par Claire Martin"])
def test_a_top_byline_line_leaves_the_text(byline: str) -> None:
    """A short line of a byline prefix and names at the top is an author line, not body text."""
    html = page(f"<p class='who'>{byline}</p>" + paragraphs(*PARAGRAPHS))
    article = extract_article(html, URL)
    assert article is not None
    assert article.text.split("\n\n") == PARAGRAPHS
