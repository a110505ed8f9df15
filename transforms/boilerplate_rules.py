"""The boilerplate rules as data: one row per pattern, with its kind, language, where it may
appear and the field its text goes to.

Owns: `RULES` (the table), the vocabularies of navigation and footer words, and `match_line`,
which answers "which row takes this line, and what does it keep". The stage
(transforms/boilerplate.py) decides positions (lead, tail, blocks); nothing here knows an
article. Adding a wording an outlet prints is adding a row, not code.

Columns:
- `name`: the fixer name written in the replay log.
- `kind`: what it is (read_also, related_header, credit, photo_credit, caption, disclaimer,
  share, follow, promo, embed, separator, footer, widget, nav).
- `lang`: en, fr, ar or "any": the wording's language. Every row applies to every article:
  an outlet's template need not be in the article's language (an English credit under
  Arabic text), and a row's wording does not occur in other languages' prose.
- `match`: "line" (the whole line is the pattern), "prefix" (a marker starts the line and the
  rest is a headline or a name: the whole line goes, the rest is kept in `target`),
  "contains" (the pattern anywhere in a short line: the whole line goes), "suffix" (only the
  matched span at the end of a line goes: a credit glued to a sentence), "lead_span" (only the
  matched span at the very start of the body goes: an agency inside a dateline).
- `where`: "any" (on a line of its own anywhere), "edge" (in the leading run of the body, or
  with at most one article line after it), "tail" (the last line only).
- `target`: "related", "credit", "captions" or "" (dropped; the log still has it).
- `block`: the line opens a list of headlines ("Read also" alone on its line): the short
  headline lines right after it go too (kept in `related`).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Rule(NamedTuple):
    name: str
    kind: str
    lang: str
    match: str
    where: str
    target: str
    pattern: str
    block: bool = False


# Arabic spellings vary in hamza, tanween and alef: "اقرأ أيضاً", "إقرأ أيضا", "اقرا ايضا".
_AR_READ = r"[اإأ]قر[أاء]\s*[اأ]يض(?:ا[\u064b]?|[\u064b]ا)"
_AR_ALSO = r"(?:\s*[اأ]يض(?:ا[\u064b]?|[\u064b]ا))?"
_AR_QUOTED = r"نق[لـ]*[\u064b]?ا?[\u064b]?\s+عن"  # نقلاً عن / نقلا عن
# The separator between a marker and the headline on the same line.
_SEP = r"\s*(?:[:：/|»›>\-–—]+|\.{2,}|…)\s*"
_AGENCY_EN = (r"AFP|Reuters|AP|Associated Press|Agence France-Presse|Anadolu|DPA|EFE|ANSA|Xinhua|"
              r"Bloomberg|UPI|WAM|SPA|MENA|QNA|KUNA|PA|Getty Images")
_AGENCY_AR = (r"أ\s?ف\s?ب|ا\s?ف\s?ب|رويترز|فرانس برس|الأناضول|د\s?ب\s?أ|د\.ب\.أ|أسوشيتد برس|"
              r"وكالات|واس|وام|قنا|كونا|أ\.ف\.ب")
_AGENCY = f"(?:{_AGENCY_EN}|{_AGENCY_AR})"
_PHOTO_WORD = (r"photo|photos|photograph|picture|image|images|pic|crédit photo|crédits? photos?|"
               r"photo credit|image credit|credit|credits|crédit|illustration|"
               r"صورة|الصورة|صور|تصوير|مصدر الصورة|حقوق الصورة")

RULES: tuple[Rule, ...] = (
    # --- "Read also" markers, alone on their line (a block of headlines follows) ----------
    Rule("read_also_marker", "read_also", "en", "line", "any", "",
         r"(?:read also|read more|also read|related|see also|more on this|more on this story|"
         r"you may also like|you might also like|recommended|related articles|related stories|"
         r"related content|related coverage|related news|related topics|more from this section|"
         r"more stories|most read|most popular|top stories|more in this section)", block=True),
    Rule("read_also_marker", "read_also", "fr", "line", "any", "",
         r"(?:lire aussi|à lire aussi|a lire aussi|lire également|à lire également|voir aussi|"
         r"à voir aussi|sur le même sujet|les plus lus|les plus lus du moment|notre sélection|"
         r"vous aimerez aussi|à découvrir|à lire|lire la suite)", block=True),
    Rule("read_also_marker", "read_also", "ar", "line", "any", "",
         rf"(?:{_AR_READ}|اقرأ المزيد|إقرأ المزيد|للمزيد|قد يهمك{_AR_ALSO}|شاهد{_AR_ALSO}|"
         r"مواضيع ذات صلة|مواضيع قد تهمك|أخبار ذات صلة|اخبار ذات صلة|الأكثر قراءة|"
         r"الأكثر مشاهدة|مقالات ذات صلة|موضوعات ذات صلة)", block=True),
    # --- "Read also: <headline>" on one line ----------------------------------------------
    Rule("read_also_inline", "read_also", "en", "prefix", "any", "related",
         r"(?:read also|read more|also read|related|see also|more on this story|"
         r"you may also like|watch)" + _SEP),
    Rule("read_also_inline", "read_also", "fr", "prefix", "any", "related",
         r"(?:lire aussi|à lire aussi|a lire aussi|lire également|à lire également|voir aussi|"
         r"à voir aussi|sur le même sujet|à voir|regarder)" + _SEP),
    Rule("read_also_inline", "read_also", "ar", "prefix", "any", "related",
         rf"(?:{_AR_READ}|اقرأ المزيد|إقرأ المزيد|للمزيد|شاهد{_AR_ALSO}|"
         r"مواضيع ذات صلة)" + _SEP),
    # "قد يهمك" (it may interest you) is never prose at the start of a line: a space is enough.
    Rule("read_also_inline", "read_more", "ar", "prefix", "any", "related",
         rf"قد يهمك{_AR_ALSO}(?:{_SEP}|\s+)"),
    # --- list widgets as extraction leaves them (Al Jazeera) ------------------------------
    Rule("list_widget", "widget", "any", "line", "any", "",
         r"(?:(?:list of \d+ items?)\s*(?:list \d+ of \d+)?|list \d+ of \d+|end of list|"
         r"liste de \d+ (?:éléments|articles)\s*(?:liste \d+ sur \d+)?|liste \d+ sur \d+|"
         r"fin de (?:la )?liste|قائمة من \d+ (?:عناصر|عنصر)\s*(?:عنصر \d+ من \d+)?|"
         r"عنصر \d+ من \d+|نهاية القائمة)"),
    # --- share, follow, newsletter and app promos -----------------------------------------
    Rule("share_line", "share", "en", "line", "any", "",
         r"(?:share( this( article| story| page)?)?|share on (?:facebook|twitter|x|whatsapp|"
         r"linkedin|email)|share via .*|copy link|"
         r"subscribe( to our newsletter| now)?.*|follow us( on .*)?|sign up for .*newsletter.*|"
         r"sign up to .*newsletter.*|get (?:our|the) .*newsletter.*)\.?"),
    Rule("share_line", "share", "fr", "line", "any", "",
         r"(?:partager( cet article| sur (?:facebook|twitter|whatsapp))?|abonnez-vous.*|"
         r"suivez-nous.*|inscrivez-vous à .*newsletter.*|recevez (?:notre|nos) .*newsletter.*)\.?"),
    Rule("share_line", "share", "ar", "line", "any", "",
         r"(?:شارك|شارك الخبر|شارك هذا المقال|شارك على .{1,20}|تابعونا.*|تابعوا .{0,40}على "
         r"(?:تويتر|فيسبوك|فيس بوك|إنستغرام|يوتيوب|تيليغرام).*|اشترك.*النشرة.*)\.?"),
    Rule("follow_line", "follow", "en", "contains", "edge", "",
         r"^(?:follow|like) (?:us|\S+) on (?:twitter|facebook|instagram|x|tiktok|telegram|"
         r"youtube|linkedin)"),
    Rule("promo_line", "promo", "en", "line", "any", "",
         r"(?:click here|tap here) (?:to|for) .{1,120}|download (?:our|the) .{0,30}app.{0,80}|"
         r"get (?:our|the) .{0,20}app.{0,60}"),
    Rule("promo_line", "promo", "fr", "line", "any", "",
         r"(?:cliquez ici|cliquer ici) .{1,120}|téléchargez (?:notre|l[’']) ?application.{0,80}"),
    Rule("promo_line", "promo", "ar", "contains", "edge", "",
         r"(?:اضغط هنا|انقر هنا|إضغط هنا|حمّل التطبيق|حمل التطبيق|(?:تحميل|حمّل|حمل|نزّل|نزل)"
         r" .{0,40}تطبيق)"),
    # --- credits: agencies, sources, photos ------------------------------------------------
    Rule("credit_line", "credit", "any", "line", "edge", "credit",
         r"(?:source|sources|crédit|credit|المصدر|المصادر|مصدر)\s*[:：]\s*.{1,120}"),
    Rule("credit_line", "credit", "any", "line", "edge", "credit",
         rf"[-–—]?\s*[(\[]?\s*{_AGENCY}(?:\s*[/,+]\s*{_AGENCY})*\s*[)\]]?"),
    Rule("credit_line", "credit", "ar", "line", "edge", "credit",
         rf"{_AR_QUOTED}\s*.{{1,80}}"),
    Rule("credit_line", "credit", "en", "line", "edge", "credit",
         r"(?:with|additional) (?:reporting|agencies)(?: by| from)? .{1,80}|"
         r"(?:reporting|writing|editing) by .{1,120}|this story was first published .{1,100}"),
    Rule("credit_line", "credit", "fr", "line", "edge", "credit",
         r"(?:avec|d['’]après) (?:afp|reuters|ap|agences?)|(?:par )?le figaro avec afp"),
    Rule("photo_credit", "photo_credit", "any", "line", "any", "credit",
         rf"[(\[]?(?:{_PHOTO_WORD})\s*[:：,]\s*.{{1,120}}?[)\]]?"),
    Rule("photo_credit", "photo_credit", "any", "line", "any", "credit",
         rf"(?:©|\(c\)|copyright)\s*.{{1,80}}|{_AGENCY}\s*(?:via|/)\s*{_AGENCY}"),
    Rule("caption_line", "caption", "en", "line", "any", "captions",
         r"(?:image caption|caption|media caption|video caption)\s*[:：,]\s*.{1,300}"),
    Rule("caption_line", "caption", "fr", "line", "any", "captions",
         r"(?:légende|légende photo)\s*[:：,]\s*.{1,300}"),
    Rule("caption_line", "caption", "ar", "line", "any", "captions",
         r"[(\[]?(?:صورة أرشيفية|صورة ارشيفية|صور أرشيفية|صورة من الأرشيف|"
         r"تعليق على الصورة\s*[:：,]\s*.{1,300})[)\]]?"),
    # A credit glued to the end of a sentence: "... on Friday. (Photo: AFP)", "...said.Photo: AFP"
    Rule("photo_credit_glued", "photo_credit", "any", "suffix", "any", "credit",
         rf"(?<=\S)\s*[(\[](?:{_PHOTO_WORD})\s*[:：]\s*[^()\[\]]{{1,80}}[)\]]\s*$|"
         rf"(?<=[.!?؟»\"”])\s*(?:Photo|Photograph|Credit|Crédit photo|Image|صورة|تصوير)\s*[:：]"
         r"\s*[^.!?؟:]{1,60}$"),
    # "... between the two countries.. Read more: <headline>" ending a paragraph.
    Rule("read_also_glued", "read_also", "any", "suffix", "any", "related",
         rf"(?<=[.!?؟…،,])\s*(?:{_AR_READ}|اقرأ المزيد|إقرأ المزيد|قد يهمك{_AR_ALSO}|read more|"
         r"read also|also read|lire aussi|à lire aussi|voir aussi)(?:\s*[:：/|]|\.{2,})\s*"
         r"(?P<keep>[^\n]{3,200})$"),
    Rule("caption_glued", "caption", "ar", "suffix", "any", "captions",
         r"(?<=\S)\s*[(\[](?:صورة أرشيفية|صورة ارشيفية)[)\]]\s*$"),
    # "... on Friday. (AFP)" or "... — AP" ending the last line.
    Rule("agency_glued", "credit", "any", "suffix", "tail", "credit",
         rf"(?:(?<=\S)\s*[(\[]\s*{_AGENCY}\s*[)\]]|(?<=[.!?؟»\"”])\s*[-–—]\s*{_AGENCY})\s*$"),
    # "CAIRO (Reuters) - " keeps "CAIRO - "; "(AFP) - " at the start goes whole.
    Rule("agency_dateline", "credit", "any", "lead_span", "any", "credit",
         rf"^(?:[^\n()]{{0,60}}?\s)?(?P<span>[(\[]\s*{_AGENCY}\s*[)\]]\s*(?:[-–—:]+\s*)?)"),
    # --- disclaimers and copyright ---------------------------------------------------------
    Rule("disclaimer_line", "disclaimer", "en", "contains", "edge", "",
         r"the (?:views|opinions) expressed (?:in this|here|are)|"
         r"(?:do|does) not necessarily (?:reflect|represent) the (?:views|position)|"
         r"this (?:article|story|content) (?:was|is) (?:produced|published|written) in "
         r"(?:partnership|collaboration|association) with"),
    Rule("disclaimer_line", "disclaimer", "fr", "contains", "edge", "",
         r"(?:les opinions|les propos) (?:exprimées?|tenus) .{0,60}n['’]engagent que|"
         r"cet article (?:a été|est) (?:publié|réalisé|écrit) en (?:partenariat|collaboration)"),
    Rule("disclaimer_line", "disclaimer", "ar", "contains", "edge", "",
         r"تمثل رأي (?:كتابها|كاتبها|الكاتب)|يعبر عن (?:وجهة نظر|رأي) (?:الكاتب|كاتبه|كاتبها)|"
         r"لا (?:يعكس|يعبر|تعكس|تعبر) بالضرورة (?:عن )?(?:رأي|وجهة نظر|موقف)|"
         r"نشر هذا المقال بالتعاون مع|الآراء الواردة .{0,40}(?:تعبر|تمثل)"),
    Rule("footer_line", "footer", "any", "contains", "edge", "credit",
         r"حقوق (?:النشر|الطبع) محفوظة|جميع الحقوق محفوظة|all rights reserved|"
         r"tous droits réservés"),
    # --- what an embedded post leaves behind, separators -----------------------------------
    Rule("embed_line", "embed", "any", "line", "any", "",
         r"(?:pic\.twitter\.com/\S+|https?://\S+|(?:t\.co|bit\.ly|youtu\.be)/\S+|"
         r"[-–—]\s*.{1,60}\s\(@\w{1,30}\)\s.{3,40}|"
         r"(?:a post shared by|une publication partagée par) .{1,100})"),
    Rule("embed_line", "embed", "any", "contains", "any", "",
         r"pic\.twitter\.com/\w+"),
    Rule("separator", "separator", "any", "line", "any", "",
         r"(?:[-_=~•·*#+.]\s?){3,}"),
)

# Navigation and footer words, for lines made only of them (a footer) and for run-together page
# text ("HomeWorldBusinessSportSign inShare this page..."): a run of these at the start or end
# of a line is the site's template glued to the article.
NAV_TERMS = (
    "home", "news", "world", "business", "sport", "sports", "politics", "tech", "technology",
    "science", "health", "entertainment", "culture", "opinion", "video", "videos", "live",
    "weather", "menu", "search", "sign in", "log in", "register", "subscribe", "share",
    "share this page", "share this article", "us", "uk", "europe", "middle east", "africa",
    "asia", "economy", "arts", "travel", "style", "more", "sections", "podcasts", "newsletters",
    "accueil", "actualités", "monde", "international", "politique", "économie", "société",
    "sciences", "vidéos", "se connecter", "s'abonner", "rechercher", "partager", "direct",
    "الرئيسية", "أخبار", "العالم", "اقتصاد", "رياضة", "سياسة", "ثقافة", "فيديو", "منوعات",
    "تسجيل الدخول", "بحث", "شارك",
)
FOOTER_TERMS = (
    "about us", "contact us", "contact", "privacy policy", "privacy", "cookie settings",
    "cookie policy", "cookies", "terms of use", "terms of service", "terms and conditions",
    "terms", "advertise", "advertise with us", "careers", "help", "accessibility", "sitemap",
    "mentions légales", "politique de confidentialité", "gestion des cookies",
    "paramètres des cookies", "conditions générales d'utilisation", "cgu", "nous contacter",
    "qui sommes-nous", "publicité", "plan du site",
    "من نحن", "اتصل بنا", "سياسة الخصوصية", "شروط الاستخدام", "إعدادات ملفات تعريف الارتباط",
    "أعلن معنا", "خريطة الموقع",
)
# A footer line needs this many terms ("About us | Privacy policy"), or one of the terms that
# never stand alone in prose.
FOOTER_MIN_TERMS = 2
_STRONG_FOOTER = ("privacy policy", "cookie settings", "cookie policy", "terms of use",
                  "terms of service", "mentions légales", "politique de confidentialité",
                  "gestion des cookies", "paramètres des cookies", "سياسة الخصوصية",
                  "شروط الاستخدام", "إعدادات ملفات تعريف الارتباط")


def _alternation(terms) -> str:
    return "|".join(re.escape(t) for t in sorted(set(terms), key=len, reverse=True))


def _glued_alternation(terms) -> str:
    """Terms that may be glued to the next one, which then starts with a capital: "Sport" in
    "SportSign in" is a term, "Sports" is not (a lower-case letter follows it)."""
    return rf"(?:{_alternation(terms)})(?!(?-i:[a-zà-ÿ]))"


_TERM_SEP = r"[\s|·•,/\-–—]*"
_FOOTER_RUN = re.compile(rf"(?:(?:{_alternation(FOOTER_TERMS)}){_TERM_SEP})+", re.I)
_FOOTER_TERM = re.compile(_alternation(FOOTER_TERMS), re.I)
_STRONG = re.compile(_alternation(_STRONG_FOOTER), re.I)
NAV_RUN_TERMS = NAV_TERMS + FOOTER_TERMS
_NAV_LEAD = re.compile(rf"^(?:{_glued_alternation(NAV_RUN_TERMS)}{_TERM_SEP})+", re.I)
_NAV_TAIL = re.compile(rf"(?:{_glued_alternation(NAV_RUN_TERMS)}{_TERM_SEP})+$", re.I)
_NAV_TERM = re.compile(_alternation(NAV_RUN_TERMS), re.I)
# A glued run must hold at least this many terms: two nav words in a row ("World Business")
# can start a sentence, three glued ones do not.
NAV_MIN_TERMS = 3

# A marker alone on its line may end with a colon or dots ("Lire aussi :", "اقرأ أيضاً:").
_LINE = [(r, re.compile(rf"(?:{r.pattern})" + (r"\s*[:：.…|/]*" if r.block else ""), re.I))
         for r in RULES]

# Leading bullets and emphasis marks are not part of the wording ("*نقلاً عن", "** جميع").
_LEAD_MARKS = re.compile(r"^[\s*•·#>]+")
_TAGS = re.compile(r"<[^<>]{0,200}>")


def strip_tags(text: str) -> str:
    """Text kept in `related`/`credit`/`captions` carries no markup.

    >>> strip_tags('<a href="/x">Port strike ends</a>')
    'Port strike ends'
    """
    return " ".join(_TAGS.sub(" ", text).split())


def view(line: str) -> str:
    """The text a rule reads: inline tags gone, leading bullets gone, spaces collapsed.

    >>> view("** <b>Read also</b> :")
    'Read also :'
    """
    return " ".join(_LEAD_MARKS.sub("", _TAGS.sub(" ", line)).split())


class LineMatch(NamedTuple):
    rule: Rule
    keep: str  # the text kept in the rule's target ("" for none)


# Lines longer than this are not one boilerplate item (the longest disclaimer and credit lines
# in shared/eval/news_real are under 40 words); a "contains" rule never takes a paragraph.
CONTAINS_MAX_WORDS = 45
PREFIX_MAX_WORDS = 40


def match_line(line: str) -> LineMatch | None:
    """The first row that takes the whole line (match "line", "prefix" or "contains").

    >>> match_line("Lire aussi :").rule.name
    'read_also_marker'
    >>> m = match_line("قد يهمك.. أمريكا: 12 مليون دولار لمعلومات")
    >>> m.rule.kind, m.keep
    ('read_more', 'أمريكا: 12 مليون دولار لمعلومات')
    >>> match_line("(Photo: AFP)").rule.kind, match_line("*نقلاً عن الرياضية السعودية").keep
    ('photo_credit', '*نقلاً عن الرياضية السعودية')
    >>> match_line("The minister said the talks would resume.") is None
    True
    """
    text = view(line)
    if not text:
        return None
    words = len(text.split())
    for rule, rx in _LINE:
        if rule.match == "line":
            if rx.fullmatch(text):
                return LineMatch(rule, strip_tags(line) if rule.target else "")
        elif rule.match == "prefix":
            if words > PREFIX_MAX_WORDS:
                continue
            m = rx.match(text)
            if m and m.end() < len(text):
                rest = text[m.end():].strip()
                if rest and not _prose_after_marker(rest):
                    return LineMatch(rule, rest)
        elif rule.match == "contains":
            if words <= CONTAINS_MAX_WORDS and rx.search(text):
                return LineMatch(rule, strip_tags(line) if rule.target else "")
    if is_footer(text):
        return LineMatch(FOOTER_RULE, "")
    return None


def _prose_after_marker(rest: str) -> bool:
    """After "Read more" a lower-case word is prose ("Read more about it in ..."), not a
    headline.

    >>> _prose_after_marker("about the plan in our report"), _prose_after_marker("Storm hits")
    (True, False)
    """
    return rest[:1].islower()


FOOTER_RULE = Rule("footer_line", "footer", "any", "line", "any", "", "<FOOTER_TERMS>")


def is_footer(text: str) -> bool:
    """A line made only of footer words: two or more, or one that never stands alone in prose.

    >>> is_footer("About us | Privacy policy | Cookie settings"), is_footer("Help")
    (True, False)
    >>> is_footer("Privacy policy"), is_footer("Contact the ministry for help")
    (True, False)
    """
    if not _FOOTER_RUN.fullmatch(text.strip()):
        return False
    return len(_FOOTER_TERM.findall(text)) >= FOOTER_MIN_TERMS or bool(_STRONG.search(text))


def suffix_matches(line: str, last: bool) -> list[tuple[Rule, int, int, str]]:
    """Spans (rule, start, end) at the end of a line that a "suffix" row takes; `last`: this
    is the body's last line (for rows whose `where` is "tail").

    >>> [(r.kind, s, k) for r, s, e, k in suffix_matches("The port reopened. (Photo: AFP)", False)]
    [('photo_credit', 18, '(Photo: AFP)')]
    >>> [(r.kind, s, k) for r, s, e, k in suffix_matches("It ended. Read more: Port shut", False)]
    [('read_also', 9, 'Port shut')]
    >>> [(r.kind, s) for r, s, e, k in suffix_matches("It ended on Friday. (AFP)", True)]
    [('credit', 19)]
    >>> suffix_matches("It ended on Friday. (AFP)", False)
    []
    >>> [(r.kind, s) for r, s, e, k in suffix_matches("Environ 1 200 pompiers sont mobilisés (AFP)", True)]
    [('credit', 37)]
    """
    out = []
    for rule, rx in _LINE:
        if rule.match != "suffix" or (rule.where == "tail" and not last):
            continue
        m = rx.search(line, max(0, len(line) - SUFFIX_WINDOW))
        if m and m.start() > 0:
            keep = m.group("keep") if "keep" in rx.groupindex else m.group()
            out.append((rule, m.start(), m.end(), keep.strip()))
            break
    return out


def lead_span(text: str) -> tuple[Rule, int, int] | None:
    """The agency inside a dateline at the start of the body: (rule, start, end).

    >>> r, s, e = lead_span("CAIRO (Reuters) - The minister said.")
    >>> "CAIRO (Reuters) - The minister said."[s:e]
    '(Reuters) '
    >>> r, s, e = lead_span("(AFP) - Talks resumed.")
    >>> "(AFP) - Talks resumed."[s:e]
    '(AFP) - '
    >>> lead_span("دبي، الإمارات العربية المتحدة (CNN)-- أكد") is None
    True
    """
    for rule, rx in _LINE:
        if rule.match != "lead_span":
            continue
        m = rx.match(text)
        if m:
            s, e = m.span("span")
            if s > 0:  # a place before it: keep the dash after the place
                e = s + re.search(r"[)\]]", text[s:e]).end()
                while e < len(text) and text[e] == " ":
                    e += 1
            return rule, s, e
    return None


# Glued navigation and footers are short: a run is looked for in the first and last
# EDGE_WINDOW characters of a line only, so a 2 MB line of page text costs no more than a
# short one (a search over the whole line took 3 s per end).
EDGE_WINDOW = 1000
# Suffix rows are at most ~260 characters long (a 200-character headline after its marker).
SUFFIX_WINDOW = 400


def glued_edges(text: str) -> tuple[int, int]:
    """(end of a glued navigation run at the start, start of one at the end) of a line:
    (0, len(text)) when there is none. A run needs NAV_MIN_TERMS terms and must not be the
    whole line (a line made only of such words is a footer or a menu, taken by `is_footer`).

    >>> t = "HomeWorldBusinessSportSign inShare this pageThe port reopened on Monday."
    >>> s, e = glued_edges(t); t[s:e]
    'The port reopened on Monday.'
    >>> t = "The port reopened on Monday.Privacy policyCookie settingsAbout us"
    >>> s, e = glued_edges(t); t[s:e]
    'The port reopened on Monday.'
    >>> glued_edges("World Business leaders met in Davos.")
    (0, 36)
    >>> glued_edges("US, UK, Europe ministers met.")
    (0, 29)
    """
    start, end = 0, len(text)
    m = _NAV_LEAD.match(text, 0, EDGE_WINDOW)
    if m and _hard_joins(m.group()) >= NAV_MIN_TERMS - 1 and m.end() < len(text):
        start = m.end()
    m = _NAV_TAIL.search(text, max(start, len(text) - EDGE_WINDOW))
    if m and m.start() > start:
        run = m.group()
        glued = not text[m.start() - 1].isspace()
        joins = _hard_joins(run) + (1 if glued else 0)
        if joins >= NAV_MIN_TERMS - 1 and (glued or _FOOTER_TERM.search(run)):
            end = m.start()
    return start, end


_JOIN = re.compile(rf"({_glued_alternation(NAV_RUN_TERMS)})({_TERM_SEP})", re.I)


def _hard_joins(run: str) -> int:
    """Joins between terms of a run that prose never has: none at all (glued) or a bar, dot
    or slash. "US, UK, Europe ministers" has only commas and spaces: prose.

    >>> _hard_joins("HomeWorldBusiness"), _hard_joins("US, UK, Europe "), _hard_joins("Home | World")
    (2, 0, 1)
    """
    pieces = _JOIN.findall(run)
    return sum(1 for _, sep in pieces[:-1] if not sep or set(sep) & set("|·•/"))


def is_nav_line(text: str) -> bool:
    """A line made only of navigation words, glued or joined by bars ("Home | World | Sport").

    >>> is_nav_line("HomeWorldBusinessSport"), is_nav_line("Home | World | Business")
    (True, True)
    >>> is_nav_line("World news"), is_nav_line("US, UK, Europe")
    (False, False)
    """
    text = view(text)
    m = _NAV_LEAD.match(text)
    return bool(m and m.end() == len(text) and _hard_joins(m.group()) >= NAV_MIN_TERMS - 1)
