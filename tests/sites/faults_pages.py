"""Pages of the fault server: article HTML, generated English stories, charset stories.

The charset stories are real Vietnamese and French text; `CHARSET_PAGES` says how each is
encoded and declared, and the tests compare what was stored with `CharsetPage.title`/`paragraphs`.
"""

from __future__ import annotations

import html
import itertools
import json
import random
import unicodedata
from dataclasses import dataclass

SUBJECTS = ("The harbour board", "A local bakery", "The county library", "Volunteer firefighters",
            "The school orchestra", "A cycling club", "The river trust", "Market traders",
            "The hospital choir", "A chess society", "The tram company", "Allotment holders")
VERBS = ("opened", "repaired", "celebrated", "questioned", "funded", "postponed", "inspected",
         "painted", "measured", "rebuilt", "announced", "defended")
OBJECTS = ("a footbridge", "the old lighthouse", "a winter festival", "the bus timetable",
           "a rooftop garden", "the town clock", "a community kitchen", "the flood gates",
           "a reading room", "the swimming pool", "a night market", "the museum roof")
PLACES = ("near the quay", "behind the station", "on the hill road", "in the market square",
          "beside the canal", "at the old mill", "by the cathedral", "across the estuary")
DAYS = ("on Monday", "on Tuesday", "last weekend", "this spring", "after a long delay",
        "before the holidays", "in early autumn", "on Friday night")


def story_paragraphs(slug: str, count: int = 5) -> list[str]:
    """Distinct, deterministic English paragraphs for a generated story."""
    rng = random.Random(slug)
    paragraphs = []
    for _ in range(count):
        sentences = [
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(PLACES)} {rng.choice(DAYS)}, and {rng.randint(2, 900)} residents "
            f"{rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}."
            for _ in range(3)
        ]
        paragraphs.append(" ".join(sentences))
    return paragraphs


def story_title(slug: str) -> str:
    """The headline of a generated story: its slug in words."""
    return slug.replace("-", " ").capitalize()


def article_html(title: str, paragraphs: list[str], *, lang: str = "en", meta: str = "",
                 extra_body: str = "", credit: str | None = None, escape: bool = True) -> str:
    """A news article page: og:type article, JSON-LD NewsArticle, headline and paragraphs."""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle",
                     "headline": title, "datePublished": "2024-09-05T08:00:00+00:00",
                     "inLanguage": lang}, ensure_ascii=False)
    body = "\n".join(f"<p>{html.escape(p) if escape else p}</p>" for p in paragraphs)
    credit_line = (f'<p class="source">Source link: <a href="{credit}">{credit}</a></p>'
                   if credit else "")
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n{meta}'
        f"<title>{html.escape(title)}</title>\n"
        '<meta property="og:type" content="article">\n'
        '<meta property="article:published_time" content="2024-09-05T08:00:00+00:00">\n'
        f'<script type="application/ld+json">{ld}</script>\n</head>\n'
        f'<body>\n<main><article>\n<h1>{html.escape(title)}</h1>\n{body}\n{extra_body}'
        f"{credit_line}\n</article></main>\n</body>\n</html>\n"
    )


def generated_article(slug: str, credit: str | None = None) -> str:
    """The page of a generated English story."""
    return article_html(story_title(slug), story_paragraphs(slug),
                        meta='<meta charset="utf-8">\n', credit=credit)


def _cp1258_cluster(base: str, marks: list[str]) -> bytes:
    """A letter as a windows-1258 precomposed letter plus the combining marks it lacks."""
    for size in range(len(marks), -1, -1):
        for kept in itertools.combinations(marks, size):
            rest = list(marks)
            for mark in kept:
                rest.remove(mark)
            try:
                return (unicodedata.normalize("NFC", base + "".join(kept))
                        + "".join(rest)).encode("cp1258")
            except UnicodeEncodeError:
                continue
    raise ValueError(f"{base!r} with {marks!r} has no windows-1258 spelling")


def encode_cp1258(text: str) -> bytes:
    """Vietnamese text in windows-1258: letters it lacks become base letter + combining marks."""
    out = bytearray()
    for char in unicodedata.normalize("NFC", text):
        try:
            out += char.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", char)
        out += _cp1258_cluster(decomposed[0], list(decomposed[1:]))
    return bytes(out)


VIETNAMESE = {
    "ho-guom": ("Hà Nội mở rộng không gian đi bộ quanh hồ Hoàn Kiếm", [
        "Ủy ban nhân dân thành phố Hà Nội vừa quyết định mở rộng không gian đi bộ quanh hồ "
        "Hoàn Kiếm sang các tuyến phố lân cận vào mỗi cuối tuần, bắt đầu từ tháng tới.",
        "Theo kế hoạch, xe cơ giới sẽ không được lưu thông trên những tuyến phố này từ bảy giờ "
        "tối thứ Sáu đến hết ngày Chủ nhật để người dân tham gia các hoạt động văn hóa.",
        "Đại diện Sở Văn hóa và Thể thao cho biết việc mở rộng nhằm giảm áp lực cho khu vực "
        "trung tâm, đồng thời tạo thêm không gian sinh hoạt cộng đồng cho người dân thủ đô.",
        "Nhiều hộ kinh doanh trên phố Hàng Đào bày tỏ sự đồng tình, nhưng đề nghị thành phố bố "
        "trí thêm bãi đỗ xe để khách hàng thuận tiện đi lại trong những ngày cao điểm.",
    ]),
    "lua-mien-tay": ("Nông dân miền Tây phấn khởi vì lúa được mùa, được giá", [
        "Vụ lúa hè thu năm nay tại các tỉnh Đồng bằng sông Cửu Long đạt năng suất cao, giá lúa "
        "tươi tại ruộng tăng khoảng năm trăm đồng mỗi ký so với cùng kỳ năm trước.",
        "Ông Nguyễn Văn Tư, một nông dân ở huyện Châu Thành, tỉnh Đồng Tháp, cho biết gia đình "
        "ông thu hoạch hơn bảy tấn lúa mỗi héc-ta và bán ngay tại ruộng cho thương lái.",
        "Theo Sở Nông nghiệp, việc sử dụng giống lúa chất lượng cao và áp dụng cơ giới hóa giúp "
        "nông dân giảm chi phí sản xuất, đồng thời nâng cao thu nhập trên mỗi vụ mùa.",
        "Tuy nhiên, các chuyên gia khuyến cáo bà con cần theo dõi thời tiết và tình hình xâm nhập "
        "mặn để chủ động lịch gieo sạ cho vụ đông xuân sắp tới.",
    ]),
    "ca-phe-tay-nguyen": ("Cà phê Tây Nguyên vào mùa thu hoạch sớm", [
        "Những ngày đầu tháng mười, nhiều vườn cà phê ở tỉnh Đắk Lắk đã chín đỏ, người trồng "
        "tranh thủ thời tiết nắng ráo để hái và phơi những mẻ quả đầu tiên.",
        "Bà Hoàng Thị Nga ở thành phố Buôn Ma Thuột kể rằng năm nay mưa đến sớm khiến quả chín "
        "không đều, nên gia đình phải thuê thêm nhân công hái chọn từng chùm.",
        "Các doanh nghiệp chế biến cho biết nhu cầu cà phê chất lượng cao từ châu Âu vẫn ổn định, "
        "đặc biệt với những lô hàng có chứng nhận canh tác bền vững.",
        "Ngành nông nghiệp tỉnh khuyến khích nông dân liên kết thành hợp tác xã để giữ giá và giảm "
        "phụ thuộc vào thương lái trong mùa thu hoạch rộ.",
    ]),
    "thu-vien-so": ("Trường học vùng cao đón thư viện số đầu tiên", [
        "Học sinh Trường Phổ thông Dân tộc bán trú ở huyện Mèo Vạc, tỉnh Hà Giang, lần đầu được "
        "tiếp cận thư viện số với hàng nghìn đầu sách tiếng Việt và tiếng Anh.",
        "Thầy hiệu trưởng Lò Văn Sáng cho biết các em thường xếp hàng sau giờ học để được đọc "
        "truyện cổ tích và tìm hiểu kiến thức khoa học trên máy tính bảng.",
        "Dự án do một nhóm kỹ sư trẻ ở Hà Nội khởi xướng, với sự hỗ trợ của các nhà hảo tâm đã "
        "quyên góp thiết bị và đường truyền internet vệ tinh cho điểm trường.",
        "Nhóm dự định nhân rộng mô hình tới mười điểm trường khác trong năm tới, ưu tiên những "
        "nơi chưa có thư viện truyền thống và thiếu giáo viên.",
    ]),
    "pho-co-hoi-an": ("Phố cổ Hội An thắp đèn lồng mừng đêm rằm", [
        "Đêm rằm tháng tám, hàng nghìn chiếc đèn lồng được thắp sáng dọc các con phố cổ của Hội "
        "An, thu hút đông đảo du khách trong nước và quốc tế.",
        "Người dân địa phương tắt đèn điện, chỉ để ánh sáng đèn lồng và nến lung linh trên sông "
        "Hoài, tái hiện không khí của thương cảng xưa.",
        "Các nghệ nhân biểu diễn hát bài chòi, chơi cờ tướng và làm đèn lồng thủ công ngay trên "
        "đường phố để du khách cùng tham gia trải nghiệm.",
        "Ban quản lý phố cổ cho biết lượng khách tăng mạnh so với năm ngoái và đã bố trí thêm lực "
        "lượng hướng dẫn để bảo đảm an toàn, vệ sinh môi trường.",
    ]),
}

FRENCH = {
    "vendanges": ("Les vendanges commencent tôt dans le Bordelais", [
        "Les premières grappes ont été coupées dès la fin du mois d'août dans plusieurs "
        "châteaux du Bordelais, une précocité que les viticulteurs attribuent à l'été très sec.",
        "« Nous n'avions jamais commencé aussi tôt », raconte Hélène Moreau, qui dirige un "
        "domaine familial près de Saint-Émilion depuis une vingtaine d'années.",
        "Les spécialistes se réjouissent d'une vendange saine, mais s'inquiètent du manque "
        "d'acidité "
        "de certains cépages, qui pourrait modifier l'équilibre des vins de garde.",
        "La chambre d'agriculture prévoit une récolte légèrement inférieure à la moyenne "
        "décennale, compensée en partie par une qualité jugée très prometteuse.",
    ]),
    "bibliotheque": ("La médiathèque de Besançon prolonge ses horaires d'été", [
        "La médiathèque municipale de Besançon restera ouverte jusqu'à vingt-deux heures tous les "
        "jeudis, une première depuis son inauguration il y a quinze ans.",
        "Cette décision répond à une demande répétée des étudiants, qui manquent de lieux calmes "
        "pour réviser pendant la période des examens de fin d'année.",
        "L'adjointe à la culture, Françoise Lefèvre, précise que le personnel a été consulté et "
        "que deux postes supplémentaires seront créés pour assurer l'accueil du soir.",
        "Si l'expérience est concluante, la ville envisage d'étendre ces horaires à deux autres "
        "soirs de la semaine dès la rentrée de janvier.",
    ]),
    "tramway": ("Le tramway de Nantes fête ses quarante ans", [
        "Premier réseau de tramway moderne rouvert en France, celui de Nantes célèbre cette "
        "semaine ses quarante ans avec des expositions et des visites du dépôt.",
        "Des rames historiques circuleront samedi entre la gare et le château des ducs de "
        "Bretagne, au plus grand bonheur des passionnés et des familles.",
        "Les élus rappellent que le réseau transporte désormais près de trois cent mille "
        "voyageurs par jour, soit dix fois plus qu'à son ouverture en 1985.",
        "Une nouvelle ligne desservant le sud-est de l'agglomération doit être mise en service "
        "d'ici trois ans, après une longue concertation avec les riverains.",
    ]),
}


@dataclass(frozen=True)
class CharsetPage:
    """A story served in some encoding, declared (or not) in the header and in the page."""

    path: str
    lang: str
    title: str
    paragraphs: list[str]
    encoding: str
    header_charset: str | None
    meta_charset: str | None
    bom: bool = False

    def body(self) -> bytes:
        """The page's bytes."""
        meta = f'<meta charset="{self.meta_charset}">\n' if self.meta_charset else ""
        text = article_html(self.title, self.paragraphs, lang=self.lang, meta=meta)
        if self.encoding == "windows-1258":
            data = encode_cp1258(text)
        else:
            data = text.encode(self.encoding)
        return (b"\xef\xbb\xbf" if self.bom else b"") + data

    def content_type(self) -> str:
        """The Content-Type header the server sends."""
        return "text/html" + (f"; charset={self.header_charset}" if self.header_charset else "")


def _page(path: str, story: str, encoding: str, header: str | None, meta: str | None,
          bom: bool = False) -> CharsetPage:
    lang = "vi" if story in VIETNAMESE else "fr"
    title, paragraphs = (VIETNAMESE | FRENCH)[story]
    return CharsetPage(f"/charset/{path}.html", lang, title, paragraphs, encoding, header, meta,
                       bom)


CHARSET_PAGES = [
    _page("vietnamese-windows-1258-in-header", "ho-guom", "windows-1258", "windows-1258", None),
    _page("vietnamese-windows-1258-in-meta", "lua-mien-tay", "windows-1258", None, "windows-1258"),
    _page("vietnamese-utf-8-with-bom", "ca-phe-tay-nguyen", "utf-8", None, None, bom=True),
    _page("vietnamese-header-says-utf-8-meta-says-windows-1258", "thu-vien-so", "windows-1258",
          "utf-8", "windows-1258"),
    _page("vietnamese-utf-8-undeclared", "pho-co-hoi-an", "utf-8", None, None),
    _page("french-iso-8859-1-in-header", "vendanges", "iso-8859-1", "ISO-8859-1", None),
    _page("french-header-says-latin-1-meta-says-utf-8", "bibliotheque", "utf-8", "ISO-8859-1",
          "utf-8"),
    _page("french-latin-1-undeclared", "tramway", "iso-8859-1", None, None),
]
