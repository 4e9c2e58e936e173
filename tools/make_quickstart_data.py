#!/usr/bin/env python
"""Writes the small synthetic multilingual data shipped in ``xstilts/quickstart_data`` for the offline quickstart.

Every sentence is produced here from hand-written templates and small per-language vocabularies (written for this
project, CC0); nothing is copied from a benchmark. Files use the Hugging Face Hub schema of each task's dataset, so
the quickstart goes through the same loading and normalisation code as a real run. Labels follow simple consistent
patterns so that a tiny model can learn them in a few hundred steps (NLI: a restatement entails, a negation
contradicts, added facts are neutral; PAWS: reordered adverbials paraphrase, swapped roles do not).

Usage (from the repository root; output is byte-identical for the same seed):

    .venv/bin/python tools/make_quickstart_data.py                      # rewrite xstilts/quickstart_data/
    .venv/bin/python tools/make_quickstart_data.py --out /tmp/qs_data   # write elsewhere (e.g. to compare)
    .venv/bin/python tools/make_quickstart_data.py --check              # exit 1 if the shipped files are stale
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import zlib
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from xstilts import languages  # noqa: E402  (after the path: the package is not installed)

DEFAULT_OUT = REPO / "xstilts" / "quickstart_data"
DEFAULT_SEED = 13

# Languages with a full clause vocabulary (order of the "|"-separated rows below).
L14 = ["en", "de", "es", "fr", "it", "ru", "zh", "ar", "ja", "ko", "et", "id", "tr", "vi"]
# The six languages of XNLI / XQuAD / PAN-X here (order of the 6-column rows below).
L6 = ["en", "de", "es", "ru", "zh", "ar"]
PAWS_LANGS = ["en", "de", "es", "ja", "zh", "ko"]
XCOPA_LANGS = ["et", "id", "it", "tr", "zh", "vi"]
# The Tatoeba languages here, with the ISO 639-3 codes their files are named by.
TATOEBA_ISO3 = {lang: languages.TATOEBA_ISO3[lang] for lang in ("de", "es", "ru", "zh", "ar", "fr")}
CORPUS_LANGS = ["en", "de", "es", "fr", "ru", "zh", "ar", "ja", "ko", "et", "id", "it", "tr", "vi"]
# Languages written without spaces between words (sentences are joined without a space, PAN-X is per character).
NO_SPACE = {"zh", "ja"}


def _row(text: str, langs: list[str]) -> dict[str, str]:
    parts = text.split("|")
    if len(parts) != len(langs):
        raise ValueError(f"vocabulary row has {len(parts)} entries, expected {len(langs)}: {text!r}")
    return dict(zip(langs, parts, strict=True))


# ---------------------------------------------------------------------------------------------------------------
# Shared vocabulary
# ---------------------------------------------------------------------------------------------------------------
# First names (gender drives verb agreement in ar/ru and pronouns).
NAMES = [(g, _row(t, L14)) for g, t in [
    ("f", "Anna|Anna|Ana|Anne|Anna|Анна|安娜|آنا|アンナ|안나|Anna|Ana|Anna|Anna"),
    ("f", "Maria|Maria|María|Marie|Maria|Мария|玛丽亚|ماريا|マリア|마리아|Maria|Maria|Maria|Maria"),
    ("f", "Laura|Laura|Laura|Laura|Laura|Лаура|劳拉|لورا|ラウラ|라우라|Laura|Laura|Laura|Laura"),
    ("f", "Sofia|Sofia|Sofía|Sophie|Sofia|София|索菲亚|صوفيا|ソフィア|소피아|Sofia|Sofia|Sofia|Sofia"),
    ("f", "Elena|Elena|Elena|Hélène|Elena|Елена|埃琳娜|إيلينا|エレナ|엘레나|Elena|Elena|Elena|Elena"),
    ("f", "Fatima|Fatima|Fátima|Fatima|Fatima|Фатима|法蒂玛|فاطمة|ファティマ|파티마|Fatima|Fatimah|Fatma|Fatima"),
    ("f", "Yuki|Yuki|Yuki|Yuki|Yuki|Юки|由纪|يوكي|ユキ|유키|Yuki|Yuki|Yuki|Yuki"),
    ("f", "Lina|Lina|Lina|Lina|Lina|Лина|莉娜|لينا|リナ|리나|Lina|Lina|Lina|Lina"),
    ("m", "David|David|David|David|Davide|Давид|大卫|ديفيد|デイビッド|데이비드|David|David|Davut|David"),
    ("m", "Peter|Peter|Pedro|Pierre|Pietro|Пётр|彼得|بيتر|ピーター|피터|Peeter|Petrus|Peter|Peter"),
    ("m", "Thomas|Thomas|Tomás|Thomas|Tommaso|Томас|托马斯|توماس|トーマス|토마스|Toomas|Thomas|Tomas|Thomas"),
    ("m", "Paul|Paul|Pablo|Paul|Paolo|Павел|保罗|بول|ポール|폴|Paul|Paulus|Paul|Paul"),
    ("m", "Ivan|Iwan|Iván|Ivan|Ivan|Иван|伊万|إيفان|イワン|이반|Ivan|Ivan|İvan|Ivan"),
    ("m", "Omar|Omar|Omar|Omar|Omar|Омар|奥马尔|عمر|オマル|오마르|Omar|Umar|Ömer|Omar"),
    ("m", "Kenji|Kenji|Kenji|Kenji|Kenji|Кэндзи|健二|كينجي|健二|겐지|Kenji|Kenji|Kenji|Kenji"),
    ("m", "Minho|Minho|Minho|Minho|Minho|Минхо|敏浩|مينهو|ミンホ|민호|Minho|Minho|Minho|Minho"),
]]

PRONOUN = {"en": ("He", "She"), "de": ("Er", "Sie"), "es": ("Él", "Ella"), "ru": ("Он", "Она"), "zh": ("他", "她"),
           "ar": ("هو", "هي")}

# 3rd person singular present (Arabic: masculine; the feminine swaps the prefix ي for ت).
VERBS = {k: _row(t, L14) for k, t in {
    "read": "reads|liest|lee|lit|legge|читает|看|يقرأ|読みます|읽습니다|loeb|membaca|okuyor|đọc",
    "write": "writes|schreibt|escribe|écrit|scrive|пишет|写|يكتب|書きます|씁니다|kirjutab|menulis|yazıyor|viết",
    "eat": "eats|isst|come|mange|mangia|ест|吃|يأكل|食べます|먹습니다|sööb|makan|yiyor|ăn",
    "drink": "drinks|trinkt|bebe|boit|beve|пьёт|喝|يشرب|飲みます|마십니다|joob|minum|içiyor|uống",
    "buy": "buys|kauft|compra|achète|compra|покупает|买|يشتري|買います|삽니다|ostab|membeli|alıyor|mua",
    "cook": "cooks|kocht|cocina|prépare|cucina|готовит|做|يطبخ|作ります|만듭니다|keedab|memasak|pişiriyor|nấu",
    "repair": "repairs|repariert|repara|répare|ripara|чинит|修|يصلح|直します|고칩니다|parandab|memperbaiki|"
              "tamir ediyor|sửa",
    "draw": "draws|zeichnet|dibuja|dessine|disegna|рисует|画|يرسم|描きます|그립니다|joonistab|menggambar|çiziyor|vẽ",
}.items()}
VERB_BASE_EN = {"read": "read", "write": "write", "eat": "eat", "drink": "drink", "buy": "buy", "cook": "cook",
                "repair": "repair", "draw": "draw"}
# Collocations where the verb depends on the object (rice is "boiled" in zh/ja/ko, soup "boiled" in ko).
VERB_OVERRIDE = {("rice", "zh"): "煮", ("pasta", "zh"): "煮", ("rice", "ja"): "炊きます", ("rice", "ko"): "짓습니다",
                 ("soup", "ko"): "끓입니다"}

# Direct objects as they appear after the verb; German also needs the negated form (kein-).
OBJECTS = {k: (_row(t, L14), neg) for k, (t, neg) in {
    "book": ("a book|ein Buch|un libro|un livre|un libro|книгу|书|كتابًا|本|책|raamatut|buku|kitap|sách", "kein Buch"),
    "newspaper": ("a newspaper|eine Zeitung|un periódico|un journal|un giornale|газету|报纸|جريدةً|新聞|신문|ajalehte|"
                  "koran|gazete|báo", "keine Zeitung"),
    "letter": ("a letter|einen Brief|una carta|une lettre|una lettera|письмо|信|رسالةً|手紙|편지|kirja|surat|mektup|"
               "thư", "keinen Brief"),
    "poem": ("a poem|ein Gedicht|un poema|un poème|una poesia|стихотворение|诗|قصيدةً|詩|시|luuletust|puisi|şiir|thơ",
             "kein Gedicht"),
    "story": ("a story|eine Geschichte|un cuento|une histoire|una storia|рассказ|故事|قصةً|物語|이야기|lugu|cerita|"
              "hikâye|truyện", "keine Geschichte"),
    "apple": ("an apple|einen Apfel|una manzana|une pomme|una mela|яблоко|苹果|تفاحةً|りんご|사과|õuna|apel|elma|táo",
              "keinen Apfel"),
    "sandwich": ("a sandwich|ein Sandwich|un bocadillo|un sandwich|un panino|бутерброд|三明治|شطيرةً|サンドイッチ|"
                 "샌드위치|võileiba|roti lapis|sandviç|bánh mì", "kein Sandwich"),
    "cake": ("cake|Kuchen|pastel|du gâteau|un dolce|торт|蛋糕|كعكةً|ケーキ|케이크|kooki|kue|pasta|bánh ngọt",
             "keinen Kuchen"),
    "tea": ("tea|Tee|té|du thé|un tè|чай|茶|الشاي|お茶|차|teed|teh|çay|trà", "keinen Tee"),
    "coffee": ("coffee|Kaffee|café|du café|un caffè|кофе|咖啡|القهوة|コーヒー|커피|kohvi|kopi|kahve|cà phê",
               "keinen Kaffee"),
    "juice": ("juice|Saft|zumo|du jus|un succo|сок|果汁|العصير|ジュース|주스|mahla|jus|meyve suyu|"
              "nước ép", "keinen Saft"),
    "bicycle": ("a bicycle|ein Fahrrad|una bicicleta|un vélo|una bicicletta|велосипед|自行车|دراجةً|自転車|자전거|"
                "jalgratta|sepeda|bisiklet|xe đạp", "kein Fahrrad"),
    "lamp": ("a lamp|eine Lampe|una lámpara|une lampe|una lampada|лампу|台灯|مصباحًا|ランプ|램프|lambi|lampu|lamba|đèn",
             "keine Lampe"),
    "jacket": ("a jacket|eine Jacke|una chaqueta|une veste|una giacca|куртку|夹克|سترةً|ジャケット|재킷|jope|jaket|"
               "ceket|áo khoác", "keine Jacke"),
    "soup": ("soup|eine Suppe|una sopa|une soupe|una zuppa|суп|汤|حساءً|スープ|수프|suppi|sup|çorba|"
             "canh", "keine Suppe"),
    "rice": ("rice|Reis|arroz|du riz|il riso|рис|米饭|الأرز|ご飯|밥|riisi|nasi|pilav|cơm", "keinen Reis"),
    "pasta": ("pasta|Nudeln|pasta|des pâtes|la pasta|макароны|面条|المعكرونة|パスタ|파스타|pastat|pasta|makarna|mì",
              "keine Nudeln"),
    "chair": ("a chair|einen Stuhl|una silla|une chaise|una sedia|стул|椅子|كرسيًا|椅子|의자|tooli|kursi|sandalye|ghế",
              "keinen Stuhl"),
    "clock": ("a clock|eine Uhr|un reloj|une horloge|un orologio|часы|钟|ساعةً|時計|시계|kella|jam|saat|đồng hồ",
              "keine Uhr"),
    "landscape": ("a landscape|eine Landschaft|un paisaje|un paysage|un paesaggio|пейзаж|风景|منظرًا طبيعيًا|風景|풍경|"
                  "maastikku|pemandangan|manzara|phong cảnh", "keine Landschaft"),
    "map": ("a map|eine Karte|un mapa|une carte|una mappa|карту|地图|خريطةً|地図|지도|kaarti|peta|harita|bản đồ",
            "keine Karte"),
    "cat": ("a cat|eine Katze|un gato|un chat|un gatto|кошку|猫|قطةً|猫|고양이|kassi|kucing|kedi|một con mèo",
            "keine Katze"),
}.items()}

ACTIVITIES = [("read", "book"), ("read", "newspaper"), ("read", "letter"), ("write", "letter"), ("write", "poem"),
              ("write", "story"), ("eat", "apple"), ("eat", "sandwich"), ("eat", "cake"), ("drink", "tea"),
              ("drink", "coffee"), ("drink", "juice"), ("buy", "bicycle"), ("buy", "lamp"), ("buy", "jacket"),
              ("cook", "soup"), ("cook", "rice"), ("cook", "pasta"), ("repair", "chair"), ("repair", "clock"),
              ("repair", "bicycle"), ("draw", "landscape"), ("draw", "map"), ("draw", "cat")]

PLACES = {k: _row(t, L14) for k, t in {
    "park": "in the park|im Park|en el parque|au parc|al parco|в парке|在公园里|في المنتزه|公園で|공원에서|pargis|"
            "di taman|parkta|ở công viên",
    "library": "in the library|in der Bibliothek|en la biblioteca|à la bibliothèque|in biblioteca|в библиотеке|"
               "在图书馆|في المكتبة|図書館で|도서관에서|raamatukogus|di perpustakaan|kütüphanede|ở thư viện",
    "home": "at home|zu Hause|en casa|à la maison|a casa|дома|在家|في البيت|家で|집에서|kodus|di rumah|evde|ở nhà",
    "kitchen": "in the kitchen|in der Küche|en la cocina|dans la cuisine|in cucina|на кухне|在厨房里|في المطبخ|台所で|"
               "부엌에서|köögis|di dapur|mutfakta|trong bếp",
    "garden": "in the garden|im Garten|en el jardín|dans le jardin|in giardino|в саду|在花园里|في الحديقة|庭で|"
              "정원에서|aias|di kebun|bahçede|trong vườn",
    "train": "on the train|im Zug|en el tren|dans le train|in treno|в поезде|在火车上|في القطار|電車で|기차에서|rongis|"
             "di kereta|trende|trên tàu",
    "cafe": "in a café|in einem Café|en una cafetería|dans un café|in un bar|в кафе|在咖啡馆里|في مقهى|カフェで|"
            "카페에서|kohvikus|di kafe|kafede|ở quán cà phê",
    "school": "at school|in der Schule|en la escuela|à l'école|a scuola|в школе|在学校|في المدرسة|学校で|학교에서|"
              "koolis|di sekolah|okulda|ở trường",
    "market": "at the market|auf dem Markt|en el mercado|au marché|al mercato|на рынке|在市场上|في السوق|市場で|"
              "시장에서|turul|di pasar|pazarda|ở chợ",
    "shop": "in a shop|in einem Geschäft|en una tienda|dans un magasin|in un negozio|в магазине|在商店里|في متجر|店で|"
            "가게에서|poes|di toko|mağazada|ở cửa hàng",
    "garage": "in the garage|in der Garage|en el garaje|dans le garage|in garage|в гараже|在车库里|في المرآب|"
              "ガレージで|차고에서|garaažis|di garasi|garajda|trong ga-ra",
}.items()}
# Places that make sense for each verb (nobody cooks on the train or buys a lamp in the library).
VERB_PLACES = {"read": ["park", "library", "home", "garden", "train", "cafe"],
               "write": ["park", "library", "home", "garden", "train", "cafe", "school"],
               "eat": ["park", "home", "kitchen", "garden", "train", "cafe", "school"],
               "drink": ["home", "kitchen", "garden", "train", "cafe"],
               "buy": ["market", "shop"],
               "cook": ["home", "kitchen"],
               "repair": ["home", "garden", "garage"],
               "draw": ["park", "home", "garden", "school", "library", "cafe"]}

TIMES = {k: _row(t, L14) for k, t in {
    "morning": "in the morning|am Morgen|por la mañana|le matin|la mattina|утром|早上|في الصباح|毎朝|아침에|hommikul|"
               "pada pagi hari|sabah|vào buổi sáng",
    "evening": "in the evening|am Abend|por la noche|le soir|la sera|вечером|晚上|في المساء|毎晩|저녁에|õhtul|"
               "pada malam hari|akşam|vào buổi tối",
    "sunday": "on Sunday|am Sonntag|el domingo|le dimanche|la domenica|в воскресенье|星期天|يوم الأحد|日曜日に|"
              "일요일에|pühapäeval|pada hari Minggu|pazar günü|vào Chủ nhật",
    "lunch": "after lunch|nach dem Mittagessen|después del almuerzo|après le déjeuner|dopo pranzo|после обеда|午饭后|"
             "بعد الغداء|昼ご飯の後で|점심 식사 후에|pärast lõunat|setelah makan siang|öğle yemeğinden sonra|"
             "sau bữa trưa",
    "friday": "on Friday|am Freitag|el viernes|le vendredi|il venerdì|в пятницу|星期五|يوم الجمعة|金曜日に|금요일에|"
              "reedel|pada hari Jumat|cuma günü|vào thứ Sáu",
    "weekend": "at the weekend|am Wochenende|el fin de semana|le week-end|nel fine settimana|на выходных|周末|"
               "في عطلة نهاية الأسبوع|週末に|주말에|nädalavahetusel|pada akhir pekan|hafta sonu|vào cuối tuần",
}.items()}

# Cities: en de es ru ru-prepositional ru-accusative ru-genitive zh ar, and the country (key into COUNTRIES).
_CITY_COLS = ["en", "de", "es", "ru", "ru_loc", "ru_acc", "ru_gen", "zh", "ar"]
CITIES = [(_row(t, _CITY_COLS), c) for t, c in [
    ("Berlin|Berlin|Berlín|Берлин|Берлине|Берлин|Берлина|柏林|برلين", "germany"),
    ("Munich|München|Múnich|Мюнхен|Мюнхене|Мюнхен|Мюнхена|慕尼黑|ميونخ", "germany"),
    ("Madrid|Madrid|Madrid|Мадрид|Мадриде|Мадрид|Мадрида|马德里|مدريد", "spain"),
    ("Rome|Rom|Roma|Рим|Риме|Рим|Рима|罗马|روما", "italy"),
    ("Milan|Mailand|Milán|Милан|Милане|Милан|Милана|米兰|ميلانو", "italy"),
    ("Vienna|Wien|Viena|Вена|Вене|Вену|Вены|维也纳|فيينا", "austria"),
    ("Lyon|Lyon|Lyon|Лион|Лионе|Лион|Лиона|里昂|ليون", "france"),
    ("Moscow|Moskau|Moscú|Москва|Москве|Москву|Москвы|莫斯科|موسكو", "russia"),
    ("Prague|Prag|Praga|Прага|Праге|Прагу|Праги|布拉格|براغ", "czechia"),
    ("Lisbon|Lissabon|Lisboa|Лиссабон|Лиссабоне|Лиссабон|Лиссабона|里斯本|لشبونة", "portugal"),
    ("Tokyo|Tokio|Tokio|Токио|Токио|Токио|Токио|东京|طوكيو", "japan"),
    ("Seoul|Seoul|Seúl|Сеул|Сеуле|Сеул|Сеула|首尔|سيول", "korea"),
]]
# Countries: en de es ru-prepositional zh ar.
COUNTRIES = {k: _row(t, ["en", "de", "es", "ru_loc", "zh", "ar"]) for k, t in {
    "germany": "Germany|Deutschland|Alemania|Германии|德国|ألمانيا",
    "spain": "Spain|Spanien|España|Испании|西班牙|إسبانيا",
    "italy": "Italy|Italien|Italia|Италии|意大利|إيطاليا",
    "austria": "Austria|Österreich|Austria|Австрии|奥地利|النمسا",
    "france": "France|Frankreich|Francia|Франции|法国|فرنسا",
    "russia": "Russia|Russland|Rusia|России|俄罗斯|روسيا",
    "czechia": "Czechia|Tschechien|Chequia|Чехии|捷克|التشيك",
    "portugal": "Portugal|Portugal|Portugal|Португалии|葡萄牙|البرتغال",
    "japan": "Japan|Japan|Japón|Японии|日本|اليابان",
    "korea": "South Korea|Südkorea|Corea del Sur|Южной Корее|韩国|كوريا الجنوبية",
}.items()}

# Fictional organisations (en de es ru zh ar).
ORGS = [_row(t, L6) for t in [
    "Orion Group|Orion Group|Grupo Orión|Орион Групп|猎户座集团|مجموعة أوريون",
    "Atlas Media|Atlas Media|Atlas Media|Атлас Медиа|阿特拉斯传媒|أطلس ميديا",
    "Nordwind Air|Nordwind Air|Nordwind Air|Нордвинд Эйр|北风航空|نوردفيند للطيران",
    "Helios Energy|Helios Energie|Helios Energía|Гелиос Энерджи|赫利俄斯能源|هيليوس للطاقة",
    "Vega Foods|Vega Foods|Vega Alimentos|Вега Фудс|维加食品|فيغا للأغذية",
    "Polaris Software|Polaris Software|Polaris Software|Поларис Софтвер|北极星软件|بولاريس للبرمجيات",
    "Blue Lake Bank|Blue Lake Bank|Banco Lago Azul|Блу Лейк Банк|蓝湖银行|بنك البحيرة الزرقاء",
    "Kappa Motors|Kappa Motors|Kappa Motors|Каппа Моторс|卡帕汽车|كابا موتورز",
]]
SURNAMES = [_row(t, L6) for t in [
    "Berg|Berg|Berg|Берг|贝格|بيرغ", "Klein|Klein|Klein|Кляйн|克莱因|كلاين", "Novak|Novak|Novak|Новак|诺瓦克|نوفاك",
    "Haddad|Haddad|Haddad|Хаддад|哈达德|حداد", "Moreno|Moreno|Moreno|Морено|莫雷诺|مورينو",
    "Weber|Weber|Weber|Вебер|韦伯|فيبر", "Rossi|Rossi|Rossi|Росси|罗西|روسي", "Tanaka|Tanaka|Tanaka|Танака|田中|تاناكا",
]]

# Professions: en (with article), de m/f, es m/f, ru m/f, zh, ar m/f.
PROFESSIONS = [
    {"en": "a doctor", "de": ("Arzt", "Ärztin"), "es": ("médico", "médica"), "ru": ("врач", "врач"), "zh": "医生",
     "ar": ("طبيب", "طبيبة")},
    {"en": "an engineer", "de": ("Ingenieur", "Ingenieurin"), "es": ("ingeniero", "ingeniera"),
     "ru": ("инженер", "инженер"), "zh": "工程师", "ar": ("مهندس", "مهندسة")},
    {"en": "an architect", "de": ("Architekt", "Architektin"), "es": ("arquitecto", "arquitecta"),
     "ru": ("архитектор", "архитектор"), "zh": "建筑师", "ar": ("مهندس معماري", "مهندسة معمارية")},
    {"en": "a photographer", "de": ("Fotograf", "Fotografin"), "es": ("fotógrafo", "fotógrafa"),
     "ru": ("фотограф", "фотограф"), "zh": "摄影师", "ar": ("مصور", "مصورة")},
    {"en": "a programmer", "de": ("Programmierer", "Programmiererin"), "es": ("programador", "programadora"),
     "ru": ("программист", "программист"), "zh": "程序员", "ar": ("مبرمج", "مبرمجة")},
    {"en": "a journalist", "de": ("Journalist", "Journalistin"), "es": ("periodista", "periodista"),
     "ru": ("журналист", "журналист"), "zh": "记者", "ar": ("صحفي", "صحفية")},
    {"en": "a chef", "de": ("Koch", "Köchin"), "es": ("cocinero", "cocinera"), "ru": ("повар", "повар"), "zh": "厨师",
     "ar": ("طباخ", "طباخة")},
    {"en": "a teacher", "de": ("Lehrer", "Lehrerin"), "es": ("profesor", "profesora"), "ru": ("учитель", "учительница"),
     "zh": "老师", "ar": ("مدرس", "مدرسة")},
]


# ---------------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------------
def task_rng(task: str, seed: int) -> random.Random:
    """One independent, reproducible stream per task (crc32, not hash(): str hashing is salted per process)."""
    return random.Random(zlib.crc32(task.encode("utf-8")) * 1000003 + seed)


def ko_batchim(word: str) -> bool:
    """Whether the last Hangul syllable ends in a consonant (selects 은/는, 을/를)."""
    c = word[-1]
    return "가" <= c <= "힣" and (ord(c) - 0xAC00) % 28 != 0


def ko_topic(word: str) -> str:
    return word + ("은" if ko_batchim(word) else "는")


def ko_object(word: str) -> str:
    return word + ("을" if ko_batchim(word) else "를")


_FIELD = re.compile(r"\{([^{}]+)\}")


def fill(template: str, values: dict, gender: str = "m") -> tuple[str, dict[str, list[int]]]:
    """Fills ``{FIELD}`` slots and ``{masc|fem}`` gender switches; returns the text and each field's start offsets.

    The offsets make QA ``answer_start`` exact by construction (searching the text could hit an earlier match,
    e.g. the employee count inside a year).
    """
    out: list[str] = []
    pos = 0
    length = 0
    starts: dict[str, list[int]] = {}
    for m in _FIELD.finditer(template):
        literal = template[pos:m.start()]
        out.append(literal)
        length += len(literal)
        field = m.group(1)
        if "|" in field:
            masc, fem = field.split("|")
            text = fem if gender == "f" else masc
        else:
            text = str(values[field])
            starts.setdefault(field, []).append(length)
        out.append(text)
        length += len(text)
        pos = m.end()
    out.append(template[pos:])
    return "".join(out), starts


def render(template: str, values: dict, gender: str = "m") -> str:
    return fill(template, values, gender)[0]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def stable_id(*parts: object) -> str:
    """A SQuAD-style 24-hex-digit id that depends only on its parts."""
    return hashlib.md5("/".join(map(str, parts)).encode("utf-8")).hexdigest()[:24]


def unique_sample(rng: random.Random, make: Callable[[random.Random], tuple[Hashable, Any]], n: int,
                  used: set) -> list:
    """``n`` items whose keys are not in ``used`` (updated in place); ``make(rng)`` returns ``(key, item)``."""
    out = []
    tries = 0
    while len(out) < n:
        key, item = make(rng)
        tries += 1
        if tries > 100000:
            raise RuntimeError("vocabulary too small for the requested number of unique items")
        if key in used:
            continue
        used.add(key)
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------------------------------
# The shared clause: NAME VERB OBJECT PLACE TIME, in each language's natural order
# ---------------------------------------------------------------------------------------------------------------
CLAUSE = {
    "en": "{S} {V} {O} {P} {T}.",
    "de": "{S} {V} {T} {O} {P}.",
    "es": "{S} {V} {O} {P} {T}.",
    "fr": "{S} {V} {O} {P} {T}.",
    "it": "{S} {V} {O} {P} {T}.",
    "ru": "{S} {T} {V} {O} {P}.",
    "zh": "{S}{T}{P}{V}{O}。",
    "ar": "{S} {V} {O} {P} {T}.",
    "ja": "{S}は{T}{P}{O}を{V}。",
    "ko": "{S} {T} {P} {O} {V}.",
    "et": "{S} {V} {T} {P} {O}.",
    "id": "{S} {V} {O} {P} {T}.",
    "tr": "{S} {T} {P} {O} {V}.",
    "vi": "{S} {V} {O} {P} {T}.",
}


def es_negative_object(obj: str) -> str:
    """'un libro' -> 'ningún libro' (Spanish negation of an indefinite object); mass nouns stay bare."""
    if obj.startswith("un "):
        return "ningún " + obj[3:]
    if obj.startswith("una "):
        return "ninguna " + obj[4:]
    return obj


def clause_values(lang: str, subject: str, gender: str, act: tuple[str, str], place: str, time: str) -> dict:
    """Slot values of the shared clause (and of the NLI hypotheses built from it) in one language."""
    verb, obj = act
    v = VERB_OVERRIDE.get((obj, lang), VERBS[verb][lang])
    if lang == "ar" and gender == "f":
        v = "ت" + v[1:]  # Arabic present tense: the feminine prefix ta- replaces ya-
    o = OBJECTS[obj][0][lang]
    values = {"S": subject, "V": v, "O": o, "P": PLACES[place][lang], "T": TIMES[time][lang]}
    if lang == "en":
        values["VB"] = VERB_BASE_EN[verb]
    elif lang == "de":
        values["ONEG"] = OBJECTS[obj][1]
    elif lang == "es":
        values["ONEG"] = es_negative_object(o)
    elif lang == "ko":
        values["S"], values["O"] = ko_topic(subject), ko_object(o)
    return values


def random_frame(rng: random.Random) -> tuple[int, tuple[str, str], str, str]:
    """(name index, activity, place, time): the meaning behind one clause, realisable in every language."""
    act = rng.choice(ACTIVITIES)
    return rng.randrange(len(NAMES)), act, rng.choice(VERB_PLACES[act[0]]), rng.choice(sorted(TIMES))


def frame_item(rng: random.Random) -> tuple:
    """A random frame as (key, item) for ``unique_sample``."""
    frame = random_frame(rng)
    return frame, frame


def clause(lang: str, frame: tuple) -> str:
    name, act, place, time = frame
    gender, forms = NAMES[name]
    return render(CLAUSE[lang], clause_values(lang, forms[lang], gender, act, place, time), gender)


# ---------------------------------------------------------------------------------------------------------------
# XNLI (and its English counterpart in MNLI)
# ---------------------------------------------------------------------------------------------------------------
# 0 entailment: a restatement of part of the premise; 1 neutral: an added fact; 2 contradiction: a negation.
NLI_VARIANTS = {0: ["short", "short_p", "short_t"], 1: ["friend", "lives"], 2: ["neg_t", "neg"]}
HYPOTHESES = {
    "en": {"short": "{S} {V} {O}.", "short_p": "{S} {V} {O} {P}.", "short_t": "{S} {V} {O} {T}.",
           "friend": "{S} {V} {O} with a friend.", "lives": "{S} lives in {CITY}.",
           "neg_t": "{S} does not {VB} {O} {T}.", "neg": "{S} does not {VB} {O}."},
    "de": {"short": "{S} {V} {O}.", "short_p": "{S} {V} {O} {P}.", "short_t": "{S} {V} {T} {O}.",
           "friend": "{S} {V} mit einem Freund {O}.", "lives": "{S} wohnt in {CITY}.",
           "neg_t": "{S} {V} {T} {ONEG}.", "neg": "{S} {V} {ONEG}."},
    "es": {"short": "{S} {V} {O}.", "short_p": "{S} {V} {O} {P}.", "short_t": "{S} {V} {O} {T}.",
           "friend": "{S} {V} {O} con un amigo.", "lives": "{S} vive en {CITY}.",
           "neg_t": "{S} no {V} {ONEG} {T}.", "neg": "{S} no {V} {ONEG}."},
    "ru": {"short": "{S} {V} {O}.", "short_p": "{S} {V} {O} {P}.", "short_t": "{S} {T} {V} {O}.",
           "friend": "{S} {V} {O} вместе с другом.", "lives": "{S} живёт в {CITY}.",
           "neg_t": "{S} {T} не {V} {O}.", "neg": "{S} не {V} {O}."},
    "zh": {"short": "{S}{V}{O}。", "short_p": "{S}{P}{V}{O}。", "short_t": "{S}{T}{V}{O}。",
           "friend": "{S}和一个朋友一起{V}{O}。", "lives": "{S}住在{CITY}。",
           "neg_t": "{S}{T}不{V}{O}。", "neg": "{S}不{V}{O}。"},
    "ar": {"short": "{S} {V} {O}.", "short_p": "{S} {V} {O} {P}.", "short_t": "{S} {V} {O} {T}.",
           "friend": "{S} {V} {O} مع صديق.", "lives": "{S} {يعيش|تعيش} في {CITY}.",
           "neg_t": "{S} لا {V} {O} {T}.", "neg": "{S} لا {V} {O}."},
}


def nli_pair(lang: str, item: tuple) -> tuple[str, str]:
    frame, label, variant, city = item
    name, act, place, time = frame
    gender, forms = NAMES[name]
    values = clause_values(lang, forms[lang], gender, act, place, time)
    values["CITY"] = CITIES[city][0]["ru_loc" if lang == "ru" else lang]
    return render(CLAUSE[lang], values, gender), render(HYPOTHESES[lang][variant], values, gender)


def nli_items(rng: random.Random, n: int, used: set) -> list[tuple]:
    """``n`` NLI items with balanced labels and premises not used before."""
    frames = unique_sample(rng, frame_item, n, used)
    items = []
    for i, frame in enumerate(frames):
        label = i % 3
        items.append((frame, label, rng.choice(NLI_VARIANTS[label]), rng.randrange(len(CITIES))))
    rng.shuffle(items)
    return items


def build_xnli(seed: int) -> dict[str, str]:
    rng = task_rng("xnli", seed)
    used: set = set()
    files = {}
    for split, n in (("train", 300), ("validation", 40)):
        items = nli_items(rng, n, used)
        files[f"xnli/{split}-en.jsonl"] = jsonl([{"premise": p, "hypothesis": h, "label": it[1]}
                                                 for it in items for p, h in [nli_pair("en", it)]])
    test = nli_items(rng, 40, used)  # the same 40 items in every language, as XNLI's test is a translation
    for lang in L6:
        files[f"xnli/test-{lang}.jsonl"] = jsonl([{"premise": p, "hypothesis": h, "label": it[1]}
                                                  for it in test for p, h in [nli_pair(lang, it)]])
    return files


# English-only NLI for the MNLI intermediate task: other scenes, past tense, same label semantics.
EN_PEOPLE = [("m", "Mark"), ("f", "Emma"), ("m", "James"), ("f", "Olivia"), ("m", "Daniel"), ("f", "Grace"),
             ("m", "Samuel"), ("f", "Chloe"), ("m", "Henry"), ("f", "Lucy"), ("m", "Oscar"), ("f", "Ruby"),
             ("m", "Leo"), ("f", "Hannah"), ("m", "Noah"), ("f", "Isla")]
MNLI_SCENES = [
    {"premise": "{N} took the {vehicle} to {city} on {day} to visit {poss} {relative}.",
     "slots": {"vehicle": ["train", "bus", "ferry", "night train", "coach"],
               "city": ["Boston", "Leeds", "Porto", "Dublin", "Krakow", "Glasgow", "Denver", "Seville"],
               "day": ["Monday", "Tuesday", "Thursday", "Friday", "Saturday"],
               "relative": ["grandmother", "uncle", "aunt", "cousin", "sister", "brother", "old teacher"]},
     0: ["{N} travelled to {city}.", "{N} went to see {poss} {relative}.", "{N} travelled by {vehicle}."],
     1: ["{N}'s {relative} had been ill for weeks.", "{N} stayed in {city} for a whole month.",
         "The {vehicle} was full of tourists."],
     2: ["{N} stayed at home on {day}.", "{N} did not travel to {city}.", "{N} has never visited {poss} {relative}."]},
    {"premise": "The {adj} {animal} slept under the {furniture} all afternoon.",
     "slots": {"adj": ["small", "old", "grey", "lazy", "black", "fluffy"],
               "animal": ["cat", "dog", "rabbit", "puppy", "kitten"],
               "furniture": ["table", "bed", "sofa", "desk", "bench"]},
     0: ["An animal was sleeping.", "The {animal} slept for a while.", "The {animal} was under the {furniture}."],
     1: ["The {animal} was hungry when it woke up.", "The {animal} belongs to a young child.",
         "The {furniture} was bought last year."],
     2: ["The {animal} was running around the garden all afternoon.", "The {animal} did not sleep at all.",
         "The {animal} spent the afternoon on the roof."]},
    {"premise": "{N} bought {num} {fruit} at the {shop} and paid in cash.",
     "slots": {"num": ["two", "three", "five", "six", "ten"],
               "fruit": ["apples", "oranges", "lemons", "pears", "peaches", "mangoes"],
               "shop": ["market", "corner shop", "supermarket"]},
     0: ["{N} bought some fruit.", "{N} paid in cash.", "{N} bought {fruit}."],
     1: ["{N} prefers fruit to vegetables.", "The {shop} opens early on Saturdays.", "{N} wanted to bake a pie."],
     2: ["{N} paid by card.", "{N} did not buy anything at the {shop}.", "{N} bought only vegetables."]},
    {"premise": "{N} finished the {doc} late on {day} and sent it to {poss} {boss}.",
     "slots": {"doc": ["report", "budget", "presentation", "article"],
               "day": ["Monday", "Wednesday", "Friday", "Sunday"],
               "boss": ["manager", "editor", "supervisor", "team leader"]},
     0: ["{N} finished the {doc}.", "{N} sent the {doc} to {poss} {boss}.", "{N} worked on the {doc}."],
     1: ["The {boss} was happy with the {doc}.", "{N} works for a large bank.",
         "{N} wrote the {doc} with a colleague."],
     2: ["{N} never finished the {doc}.", "{N} did not send anything to {poss} {boss}.",
         "{N} forgot about the {doc} completely."]},
]


def build_mnli(seed: int) -> dict[str, str]:
    rng = task_rng("mnli", seed)
    used: set = set()

    def make(r: random.Random):
        scene = r.randrange(len(MNLI_SCENES))
        spec = MNLI_SCENES[scene]
        gender, name = r.choice(EN_PEOPLE)
        values = {"N": name, "poss": "her" if gender == "f" else "his"}
        values.update({k: r.choice(v) for k, v in spec["slots"].items()})
        premise = render(spec["premise"], values)
        return premise, (spec, values, premise)

    files = {}
    for split, n in (("train", 300), ("validation", 40)):
        rows = []
        for i, (spec, values, premise) in enumerate(unique_sample(rng, make, n, used)):
            label = i % 3
            rows.append({"premise": premise, "hypothesis": render(rng.choice(spec[label]), values), "label": label})
        rng.shuffle(rows)
        files[f"mnli/{split}-en.jsonl"] = jsonl([{**r, "idx": i} for i, r in enumerate(rows)])
    return files


# ---------------------------------------------------------------------------------------------------------------
# PAWS-X: 1 = the same event with adverbials moved; 0 = the two people swap roles
# ---------------------------------------------------------------------------------------------------------------
DAYS = {lang: t.split("|") for lang, t in {
    "en": "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday",
    "de": "Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag",
    "es": "lunes|martes|miércoles|jueves|viernes|sábado|domingo",
    "ja": "月曜日|火曜日|水曜日|木曜日|金曜日|土曜日|日曜日",
    "zh": "星期一|星期二|星期三|星期四|星期五|星期六|星期天",
    "ko": "월요일|화요일|수요일|목요일|금요일|토요일|일요일",
}.items()}
DAY_PHRASE = {"en": "on {d}", "de": "am {d}", "es": "el {d}", "ja": "{d}に", "zh": "{d}", "ko": "{d}에"}
PAWS_PLACES = [_row(t, PAWS_LANGS) for t in [
    "at the station|am Bahnhof|en la estación|駅で|在车站|역에서",
    "in the park|im Park|en el parque|公園で|在公园里|공원에서",
    "in the café|im Café|en la cafetería|カフェで|在咖啡馆里|카페에서",
    "in the library|in der Bibliothek|en la biblioteca|図書館で|在图书馆|도서관에서",
    "at the market|auf dem Markt|en el mercado|市場で|在市场上|시장에서",
    "at school|in der Schule|en la escuela|学校で|在学校|학교에서",
]]
# (base, time-fronted) templates per verb; A acts on B.
PAWS_TEMPLATES = {
    "en": {"help": ("{A} helped {B} {P} {T}.", "{TC}, {A} helped {B} {P}."),
           "meet": ("{A} met {B} {P} {T}.", "{TC}, {A} met {B} {P}."),
           "wait": ("{A} waited for {B} {P} {T}.", "{TC}, {A} waited for {B} {P}."),
           "greet": ("{A} greeted {B} {P} {T}.", "{TC}, {A} greeted {B} {P}."),
           "see": ("{A} saw {B} {P} {T}.", "{TC}, {A} saw {B} {P}.")},
    "de": {"help": ("{A} half {B} {T} {P}.", "{TC} half {A} {B} {P}."),
           "meet": ("{A} traf {B} {T} {P}.", "{TC} traf {A} {B} {P}."),
           "wait": ("{A} wartete {T} {P} auf {B}.", "{TC} wartete {A} {P} auf {B}."),
           "greet": ("{A} begrüßte {B} {T} {P}.", "{TC} begrüßte {A} {B} {P}."),
           "see": ("{A} sah {B} {T} {P}.", "{TC} sah {A} {B} {P}.")},
    "es": {"help": ("{A} ayudó a {B} {P} {T}.", "{TC}, {A} ayudó a {B} {P}."),
           "meet": ("{A} se encontró con {B} {P} {T}.", "{TC}, {A} se encontró con {B} {P}."),
           "wait": ("{A} esperó a {B} {P} {T}.", "{TC}, {A} esperó a {B} {P}."),
           "greet": ("{A} saludó a {B} {P} {T}.", "{TC}, {A} saludó a {B} {P}."),
           "see": ("{A} vio a {B} {P} {T}.", "{TC}, {A} vio a {B} {P}.")},
    "ja": {"help": ("{A}は{T}{P}{B}を手伝いました。", "{T}、{A}は{P}{B}を手伝いました。"),
           "meet": ("{A}は{T}{P}{B}に会いました。", "{T}、{A}は{P}{B}に会いました。"),
           "wait": ("{A}は{T}{P}{B}を待ちました。", "{T}、{A}は{P}{B}を待ちました。"),
           "greet": ("{A}は{T}{P}{B}に挨拶しました。", "{T}、{A}は{P}{B}に挨拶しました。"),
           "see": ("{A}は{T}{P}{B}を見かけました。", "{T}、{A}は{P}{B}を見かけました。")},
    "zh": {"help": ("{A}{T}{P}帮助了{B}。", "{T}，{A}{P}帮助了{B}。"),
           "meet": ("{A}{T}{P}见到了{B}。", "{T}，{A}{P}见到了{B}。"),
           "wait": ("{A}{T}{P}等了{B}。", "{T}，{A}{P}等了{B}。"),
           "greet": ("{A}{T}{P}向{B}打了招呼。", "{T}，{A}{P}向{B}打了招呼。"),
           "see": ("{A}{T}{P}看见了{B}。", "{T}，{A}{P}看见了{B}。")},
    "ko": {"help": ("{ATOP} {T} {P} {BOBJ} 도왔습니다.", "{T} {ATOP} {P} {BOBJ} 도왔습니다."),
           "meet": ("{ATOP} {T} {P} {BOBJ} 만났습니다.", "{T} {ATOP} {P} {BOBJ} 만났습니다."),
           "wait": ("{ATOP} {T} {P} {BOBJ} 기다렸습니다.", "{T} {ATOP} {P} {BOBJ} 기다렸습니다."),
           "greet": ("{ATOP} {T} {P} {B}에게 인사했습니다.", "{T} {ATOP} {P} {B}에게 인사했습니다."),
           "see": ("{ATOP} {T} {P} {BOBJ} 보았습니다.", "{T} {ATOP} {P} {BOBJ} 보았습니다.")},
}
PAWS_VERBS = ["help", "meet", "wait", "greet", "see"]


def paws_sentence(lang: str, a: int, b: int, verb: str, place: int, day: int, fronted: bool) -> str:
    an, bn = NAMES[a][1][lang], NAMES[b][1][lang]
    t = DAY_PHRASE[lang].format(d=DAYS[lang][day])
    values = {"A": an, "B": bn, "P": PAWS_PLACES[place][lang], "T": t, "TC": cap(t)}
    if lang == "ko":
        values.update(ATOP=ko_topic(an), BOBJ=ko_object(bn))
    return render(PAWS_TEMPLATES[lang][verb][1 if fronted else 0], values)


def paws_pair(lang: str, item: tuple) -> tuple[str, str]:
    a, b, verb, place, day, label, variant = item

    def sentence(x: int, y: int, fronted: bool) -> str:
        return paws_sentence(lang, x, y, verb, place, day, fronted)

    if label == 1:
        if variant == 0:
            return sentence(a, b, False), sentence(a, b, True)
        return sentence(a, b, True), sentence(a, b, False)
    # Mostly same word order with the roles swapped (the PAWS "word scrambling" idea); some also move the time,
    # so that "the adverbial moved" is not a perfect cue for a paraphrase.
    return [(sentence(a, b, False), sentence(b, a, False)), (sentence(a, b, True), sentence(b, a, True)),
            (sentence(a, b, False), sentence(b, a, True))][variant]


def paws_items(rng: random.Random, n: int, used: set) -> list[tuple]:
    def make(r: random.Random):
        a, b = r.sample(range(len(NAMES)), 2)
        event = (a, b, r.choice(PAWS_VERBS), r.randrange(len(PAWS_PLACES)), r.randrange(7))
        return event, event
    items = []
    for i, event in enumerate(unique_sample(rng, make, n, used)):
        label = 1 if i % 2 == 0 else 0
        variant = rng.randrange(2) if label == 1 else rng.choice([0, 0, 1, 2])
        items.append((*event, label, variant))
    rng.shuffle(items)
    return items


def build_pawsx(seed: int) -> dict[str, str]:
    rng = task_rng("pawsx", seed)
    used: set = set()
    files = {}
    next_id = 1
    for split, n in (("train", 300), ("validation", 40)):
        rows = []
        for it in paws_items(rng, n, used):
            s1, s2 = paws_pair("en", it)
            rows.append({"id": next_id, "sentence1": s1, "sentence2": s2, "label": it[5]})
            next_id += 1
        files[f"pawsx/{split}-en.jsonl"] = jsonl(rows)
    test = paws_items(rng, 40, used)
    for lang in PAWS_LANGS:
        rows = []
        for i, it in enumerate(test):
            s1, s2 = paws_pair(lang, it)
            rows.append({"id": next_id + i, "sentence1": s1, "sentence2": s2, "label": it[5]})
        files[f"pawsx/test-{lang}.jsonl"] = jsonl(rows)
    return files


# ---------------------------------------------------------------------------------------------------------------
# SQuAD (English training) and XQuAD (the same paragraphs and question ids in six languages)
# ---------------------------------------------------------------------------------------------------------------
# Context = three fact sentences + the shared clause with a pronoun subject. Answer fields occur exactly once.
QA = {
    "en": {"facts": ["{NAME} is {PROF} from {CITY}.", "In {YEAR}, {he|she} founded a small company called {ORG}.",
                     "Today the company has {N} employees."],
           "questions": [("CITY", "Where is {NAME} from?"), ("YEAR", "In which year did {NAME} found the company?"),
                         ("ORG", "What is the name of the company that {NAME} founded?"),
                         ("N", "How many employees does the company have today?"), ("NAME", "Who founded {ORG}?"),
                         ("P", "Where does {NAME} {VB} {O}?")]},
    "de": {"facts": ["{NAME} ist {PROF} und kommt aus {CITY}.",
                     "Im Jahr {YEAR} gründete {er|sie} eine kleine Firma namens {ORG}.",
                     "Heute hat die Firma {N} Mitarbeiter."],
           "questions": [("CITY", "Woher kommt {NAME}?"), ("YEAR", "In welchem Jahr gründete {NAME} die Firma?"),
                         ("ORG", "Wie heißt die Firma, die {NAME} gegründet hat?"),
                         ("N", "Wie viele Mitarbeiter hat die Firma heute?"), ("NAME", "Wer hat {ORG} gegründet?"),
                         ("P", "Wo {V} {NAME} {O}?")]},
    "es": {"facts": ["{NAME} es {PROF} y es de {CITY}.", "En {YEAR} fundó una pequeña empresa llamada {ORG}.",
                     "Hoy la empresa tiene {N} empleados."],
           "questions": [("CITY", "¿De dónde es {NAME}?"), ("YEAR", "¿En qué año fundó {NAME} la empresa?"),
                         ("ORG", "¿Cómo se llama la empresa que fundó {NAME}?"),
                         ("N", "¿Cuántos empleados tiene hoy la empresa?"), ("NAME", "¿Quién fundó {ORG}?"),
                         ("P", "¿Dónde {V} {NAME} {O}?")]},
    "ru": {"facts": ["{NAME} — {PROF}, родом из {CITY}.",
                     "В {YEAR} году {он|она} {основал|основала} небольшую компанию «{ORG}».",
                     "Сегодня в компании работают {N} человек."],
           "questions": [("CITY", "Откуда родом {NAME}?"), ("YEAR", "В каком году {NAME} {основал|основала} компанию?"),
                         ("ORG", "Как называется компания, которую {основал|основала} {NAME}?"),
                         ("N", "Сколько человек сегодня работает в компании?"),
                         ("NAME", "Кто основал компанию «{ORG}»?"), ("P", "Где {NAME} {V} {O}?")]},
    "zh": {"facts": ["{NAME}是一名来自{CITY}的{PROF}。", "{YEAR}年，{他|她}创办了一家名为{ORG}的小公司。",
                     "如今，这家公司有{N}名员工。"],
           "questions": [("CITY", "{NAME}来自哪里？"), ("YEAR", "{NAME}是在哪一年创办公司的？"),
                         ("ORG", "{NAME}创办的公司叫什么名字？"), ("N", "这家公司现在有多少名员工？"),
                         ("NAME", "谁创办了{ORG}？"), ("P", "{NAME}在哪里{V}{O}？")]},
    "ar": {"facts": ["{NAME} {PROF} من {CITY}.", "في عام {YEAR} {أسس|أسست} شركة صغيرة اسمها {ORG}.",
                     "يعمل في الشركة اليوم {N} موظفًا."],
           "questions": [("CITY", "من أي مدينة {NAME}؟"), ("YEAR", "في أي عام {أسس|أسست} {NAME} الشركة؟"),
                         ("ORG", "ما اسم الشركة التي {أسسها|أسستها} {NAME}؟"),
                         ("N", "كم عدد الموظفين في الشركة اليوم؟"), ("NAME", "من أسس {ORG}؟"),
                         ("P", "أين {V} {NAME} {O}؟")]},
}
# 11-99 only: Arabic counts those with a singular accusative noun (موظفًا), which the template uses.
EMPLOYEES = [12, 15, 18, 24, 30, 36, 45, 52, 60, 75, 80, 95]


def qa_frame(rng: random.Random) -> tuple:
    name = rng.randrange(len(NAMES))
    act = rng.choice(ACTIVITIES)
    frame = (name, rng.randrange(len(PROFESSIONS)), rng.randrange(len(CITIES)), rng.randrange(1955, 2016),
             rng.randrange(len(ORGS)), rng.choice(EMPLOYEES), act, rng.choice(VERB_PLACES[act[0]]),
             rng.choice(sorted(TIMES)))
    return (name, frame[2], frame[4]), frame


def qa_rows(lang: str, frame: tuple, qid_prefix: str) -> list[dict]:
    """The six questions on one paragraph; answer_start is the exact offset of the answer in the context."""
    name, prof, city, year, org, n, act, place, time = frame
    gender, forms = NAMES[name]
    spec = QA[lang]
    values = clause_values(lang, PRONOUN[lang][gender == "f"], gender, act, place, time)
    p = PROFESSIONS[prof][lang]
    values.update(NAME=forms[lang], PROF=p[gender == "f"] if isinstance(p, tuple) else p,
                  CITY=CITIES[city][0]["ru_gen" if lang == "ru" else lang], YEAR=year, ORG=ORGS[org][lang], N=n)
    joiner = "" if lang in NO_SPACE else " "
    context, starts = fill(joiner.join(spec["facts"] + [CLAUSE[lang]]), values, gender)
    rows = []
    for q, (field, template) in enumerate(spec["questions"]):
        if len(starts.get(field, [])) != 1:
            raise AssertionError(f"{lang}: answer field {field} must occur exactly once in {context!r}")
        answer = str(values[field])
        start = starts[field][0]
        assert context[start:start + len(answer)] == answer, (lang, field, context)
        rows.append({"id": stable_id(qid_prefix, q), "context": context,
                     "question": render(template, values, gender),
                     "answers": {"text": [answer], "answer_start": [start]}})
    return rows


def build_squad_xquad(seed: int) -> dict[str, str]:
    rng = task_rng("squad", seed)
    used: set = set()
    files = {}
    for split, n_ctx, n_rows in (("train", 34, 200), ("validation", 7, 40)):
        rows = []
        for c, frame in enumerate(unique_sample(rng, qa_frame, n_ctx, used)):
            title = ORGS[frame[4]]["en"].replace(" ", "_")
            rows += [{"id": r["id"], "title": title, **{k: r[k] for k in ("context", "question", "answers")}}
                     for r in qa_rows("en", frame, f"squad-{split}-{c}")]
        files[f"squad/{split}-en.jsonl"] = jsonl(rows[:n_rows])
    test = unique_sample(rng, qa_frame, 7, used)
    for lang in L6:
        rows = [r for c, frame in enumerate(test) for r in qa_rows(lang, frame, f"xquad-{c}")]
        files[f"xquad/test-{lang}.jsonl"] = jsonl(rows[:40])
    return files


# ---------------------------------------------------------------------------------------------------------------
# PAN-X (WikiANN NER): tokens, BIO tags O=0 B-PER=1 I-PER=2 B-ORG=3 I-ORG=4 B-LOC=5 I-LOC=6, langs per token
# ---------------------------------------------------------------------------------------------------------------
TAG_B = {"PER": 1, "ORG": 3, "LOC": 5}
PANX = {
    "en": {"work": "{PER} works for {ORG} in {LOC} .", "born": "{PER} was born in {LOC} in {YEAR} .",
           "office": "{ORG} opened a new office in {LOC} .", "visit": "{PER} and {PER2} visited {LOC} last summer .",
           "city": "{LOC} is a large city in {CTRY} .", "director": "{PER} is the director of {ORG} .",
           "moved": "{PER} moved from {LOC} to {LOC2} in {YEAR} .",
           "o1": "The meeting lasted two hours .", "o2": "It rained all day .", "o3": "Prices rose again this year ."},
    "de": {"work": "{PER} arbeitet bei {ORG} in {LOC} .", "born": "{PER} wurde {YEAR} in {LOC} geboren .",
           "office": "{ORG} eröffnete ein neues Büro in {LOC} .",
           "visit": "{PER} und {PER2} besuchten im letzten Sommer {LOC} .",
           "city": "{LOC} ist eine große Stadt in {CTRY} .", "director": "{PER} ist {Direktor|Direktorin} von {ORG} .",
           "moved": "{PER} zog {YEAR} von {LOC} nach {LOC2} .",
           "o1": "Die Sitzung dauerte zwei Stunden .", "o2": "Es regnete den ganzen Tag .",
           "o3": "Die Preise stiegen auch in diesem Jahr ."},
    "es": {"work": "{PER} trabaja para {ORG} en {LOC} .", "born": "{PER} nació en {LOC} en {YEAR} .",
           "office": "{ORG} abrió una nueva oficina en {LOC} .",
           "visit": "{PER} y {PER2} visitaron {LOC} el verano pasado .",
           "city": "{LOC} es una gran ciudad de {CTRY} .", "director": "{PER} es {director|directora} de {ORG} .",
           "moved": "{PER} se mudó de {LOC} a {LOC2} en {YEAR} .",
           "o1": "La reunión duró dos horas .", "o2": "Llovió todo el día .",
           "o3": "Los precios volvieron a subir este año ."},
    "ru": {"work": "{PER} работает в компании « {ORG} » в {LOC_loc} .",
           "born": "{PER} {родился|родилась} в {LOC_loc} в {YEAR} году .",
           "office": "Компания « {ORG} » открыла новый офис в {LOC_loc} .",
           "visit": "{PER} и {PER2} посетили {LOC_acc} прошлым летом .",
           "city": "{LOC} — крупный город в {CTRY_loc} .", "director": "{PER} — директор компании « {ORG} » .",
           "moved": "{PER} {переехал|переехала} из {LOC_gen} в {LOC2_acc} в {YEAR} году .",
           "o1": "Встреча длилась два часа .", "o2": "Весь день шёл дождь .", "o3": "Цены снова выросли в этом году ."},
    "zh": {"work": "{PER}在{LOC}的{ORG}工作。", "born": "{PER}于{YEAR}年出生在{LOC}。",
           "office": "{ORG}在{LOC}开设了新的办事处。", "visit": "{PER}和{PER2}去年夏天去了{LOC}。",
           "city": "{LOC}是{CTRY}的一座大城市。", "director": "{PER}是{ORG}的总经理。",
           "moved": "{PER}于{YEAR}年从{LOC}搬到了{LOC2}。",
           "o1": "会议持续了两个小时。", "o2": "下了一整天的雨。", "o3": "今年物价又上涨了。"},
    "ar": {"work": "{يعمل|تعمل} {PER} في {ORG} في {LOC} .", "born": "{ولد|ولدت} {PER} في {LOC} عام {YEAR} .",
           "office": "افتتحت {ORG} مكتبًا جديدًا في {LOC} .",
           "visit": "{زار|زارت} {PER} و {PER2} {LOC} في الصيف الماضي .",
           "city": "{LOC} مدينة كبيرة في {CTRY} .", "director": "{PER} {مدير|مديرة} {ORG} .",
           "moved": "{انتقل|انتقلت} {PER} من {LOC} إلى {LOC2} عام {YEAR} .",
           "o1": "استمر الاجتماع ساعتين .", "o2": "أمطرت طوال اليوم .", "o3": "ارتفعت الأسعار مرة أخرى هذا العام ."},
}
PANX_ENTITY_KEYS = ["work", "born", "office", "visit", "city", "director", "moved"]
# Ways to join clauses into one long sentence (a spec's "conn" index picks one, modulo the list length).
PANX_CONNECTORS = {"en": [[",", "and"], [";"], [",", "while"]], "de": [[",", "und"], [";"], [",", "aber"]],
                   "es": [[",", "y"], [";"], [",", "mientras", "que"]], "ru": [[",", "и"], [";"], [",", "а"]],
                   "zh": [["，"], ["；"]], "ar": [["،", "و"], ["؛"], ["،", "ثم"]]}


def _split(text: str, lang: str) -> list[str]:
    return [c for c in text if not c.isspace()] if lang in NO_SPACE else text.split()


def panx_clause(lang: str, spec: dict) -> tuple[list[str], list[int]]:
    """Tokens and tags of one PAN-X clause described by ``spec`` (template key and entity indices)."""
    per_g = NAMES[spec["per"][0]][0]

    def person(p: tuple[int, int]) -> str:
        first, last = NAMES[p[0]][1][lang], SURNAMES[p[1]][lang]
        return f"{first}·{last}" if lang == "zh" else f"{first} {last}"

    def city(i: int, case: str = "") -> str:
        return CITIES[i][0][f"ru_{case}" if lang == "ru" and case else lang]

    entities = {"PER": (person(spec["per"]), "PER"), "PER2": (person(spec["per2"]), "PER"),
                "ORG": (ORGS[spec["org"]][lang], "ORG")}
    for case in ("", "loc", "acc", "gen"):
        suffix = f"_{case}" if case else ""
        entities["LOC" + suffix] = (city(spec["loc"], case), "LOC")
        entities["LOC2" + suffix] = (city(spec["loc2"], case), "LOC")
    country = COUNTRIES[CITIES[spec["loc"]][1]]
    entities["CTRY"] = (country.get(lang, ""), "LOC")
    entities["CTRY_loc"] = (country["ru_loc"], "LOC")
    tokens: list[str] = []
    tags: list[int] = []
    template = PANX[lang][spec["key"]]
    pos = 0
    for m in _FIELD.finditer(template):
        for tok in _split(template[pos:m.start()], lang):
            tokens.append(tok)
            tags.append(0)
        field = m.group(1)
        if "|" in field:
            tok = field.split("|")[per_g == "f"]
            tokens.append(tok)
            tags.append(0)
        elif field == "YEAR":
            for tok in _split(str(spec["year"]), lang):
                tokens.append(tok)
                tags.append(0)
        else:
            text, kind = entities[field]
            for j, tok in enumerate(_split(text, lang)):
                tokens.append(tok)
                tags.append(TAG_B[kind] + (j > 0))
        pos = m.end()
    for tok in _split(template[pos:], lang):
        tokens.append(tok)
        tags.append(0)
    return tokens, tags


def panx_spec(rng: random.Random, key: str | None = None) -> dict:
    """What one clause says (template key, people, organisation, places, year), independent of the language."""
    if key is None:
        key = rng.choice(PANX_ENTITY_KEYS) if rng.random() < 0.9 else rng.choice(["o1", "o2", "o3"])
    per, per2 = rng.sample(range(len(NAMES)), 2)
    loc, loc2 = rng.sample(range(len(CITIES)), 2)
    return {"key": key, "per": (per, rng.randrange(len(SURNAMES))), "per2": (per2, rng.randrange(len(SURNAMES))),
            "org": rng.randrange(len(ORGS)), "loc": loc, "loc2": loc2, "year": rng.randrange(1950, 2020),
            "conn": rng.randrange(6)}


def panx_long(rng: random.Random, k: int) -> list[dict]:
    """``k`` clauses with different templates, to be joined into one sentence of 40+ tokens."""
    return [panx_spec(rng, key) for key in rng.sample(PANX_ENTITY_KEYS, k)]


def panx_row(lang: str, specs: list[dict]) -> dict:
    """One sentence; several specs are joined into one long sentence (exercises long-sentence splitting)."""
    tokens: list[str] = []
    tags: list[int] = []
    for i, spec in enumerate(specs):
        t, g = panx_clause(lang, spec)
        if i > 0:
            if g[0] == 0 and lang not in NO_SPACE and lang != "ar":
                t[0] = t[0][:1].lower() + t[0][1:]  # a clause inside a sentence starts in lower case
            options = PANX_CONNECTORS[lang]
            connector = options[spec["conn"] % len(options)]
            tokens += connector
            tags += [0] * len(connector)
        if i < len(specs) - 1:
            t, g = t[:-1], g[:-1]  # drop the clause's full stop
        tokens += t
        tags += g
    return {"tokens": tokens, "ner_tags": tags, "langs": [lang] * len(tokens)}


def panx_items(rng: random.Random, n: int, used: set) -> list[list[dict]]:
    """``n`` sentences (each a list of clause specs), about 10% of them long, none seen before (``used``)."""
    def keyed(specs: list[dict]) -> tuple:
        # Keyed by the sentences themselves: specs that differ only in slots a template does not use are the same.
        return tuple(tuple(panx_row(lang, specs)["tokens"]) for lang in L6), specs

    items = unique_sample(rng, lambda r: keyed(panx_long(r, r.choice([5, 6])) if r.random() < 0.1
                                               else [panx_spec(r)]), n, used)
    # Every split gets at least three long sentences, whatever the draw.
    for i in range(min(3, n)):
        if len(items[i]) == 1:
            items[i] = unique_sample(rng, lambda r: keyed(panx_long(r, 6)), 1, used)[0]
    rng.shuffle(items)
    return items


def build_panx(seed: int) -> dict[str, str]:
    rng = task_rng("panx", seed)
    used: set = set()
    files = {}
    for split, n in (("train", 200), ("validation", 40)):
        files[f"panx/{split}-en.jsonl"] = jsonl([panx_row("en", specs) for specs in panx_items(rng, n, used)])
    test = panx_items(rng, 40, used)
    for lang in L6:
        files[f"panx/test-{lang}.jsonl"] = jsonl([panx_row(lang, specs) for specs in test])
    return files


# ---------------------------------------------------------------------------------------------------------------
# Tatoeba: row i of the non-English side translates row i of the English side
# ---------------------------------------------------------------------------------------------------------------
def build_tatoeba(seed: int) -> dict[str, str]:
    rng = task_rng("tatoeba", seed)
    files = {}
    for lang, iso3 in TATOEBA_ISO3.items():
        frames = unique_sample(rng, frame_item, 50, set())
        # The Hub copy (google/xtreme tatoeba.<iso3>) keeps each line's "\n"; so do we, so that the loader's
        # normalisation is exercised exactly as on real data.
        rows = [{"source_sentence": clause(lang, f) + "\n", "target_sentence": clause("en", f) + "\n",
                 "source_lang": iso3, "target_lang": "eng"} for f in frames]
        files[f"tatoeba/test-{iso3}.jsonl"] = jsonl(rows)
    return files


# ---------------------------------------------------------------------------------------------------------------
# SIQA (English): the right answer follows from the situation; the wrong ones belong to other situations
# ---------------------------------------------------------------------------------------------------------------
SIQA_NAMES = ["Alex", "Jordan", "Taylor", "Casey", "Riley", "Morgan", "Sam", "Jamie", "Quinn", "Avery", "Cameron",
              "Robin", "Kai", "Drew", "Sydney", "Jesse", "Remy", "Skyler", "Addison", "Bailey"]
SIQA_QUESTIONS = {"feel": "How would {B} feel as a result?", "next": "What will {A} want to do next?",
                  "why": "Why did {A} do this?", "describe": "How would you describe {A}?"}
SIQA_SITUATIONS = [
    ("{A} gave {B} a present for {B}'s birthday.", {"feel": "grateful", "next": "watch {B} open the present",
     "why": "to show {B} that they care", "describe": "generous"}),
    ("{A} helped {B} carry the heavy boxes upstairs.", {"feel": "relieved and thankful", "next": "rest for a while",
     "why": "to make the move easier for {B}", "describe": "helpful"}),
    ("{A} forgot {B}'s name at the party.", {"feel": "a little hurt", "next": "apologize to {B}",
     "why": "they had met too many new people", "describe": "forgetful"}),
    ("{A} shouted at {B} in front of everyone.", {"feel": "embarrassed", "next": "calm down",
     "why": "they were very angry", "describe": "rude"}),
    ("{A} cooked dinner for {B} after a long day at work.", {"feel": "cared for", "next": "eat together with {B}",
     "why": "to let {B} relax", "describe": "thoughtful"}),
    ("{A} won the race against {B}.", {"feel": "disappointed", "next": "celebrate the victory",
     "why": "they had trained for months", "describe": "fast"}),
    ("{A} borrowed {B}'s car without asking.", {"feel": "annoyed", "next": "return the car quickly",
     "why": "they needed to get somewhere in a hurry", "describe": "careless"}),
    ("{A} taught {B} how to swim.", {"feel": "proud of the progress", "next": "practice again with {B}",
     "why": "so that {B} would be safe in the water", "describe": "patient"}),
    ("{A} told {B} a secret.", {"feel": "trusted", "next": "ask {B} not to tell anyone",
     "why": "they trusted {B}", "describe": "open"}),
    ("{A} lent {B} some money for the bus.", {"feel": "thankful", "next": "wait for {B} to pay it back",
     "why": "{B} had lost their wallet", "describe": "kind"}),
    ("{A} cleaned the whole house before {B} came home.", {"feel": "pleasantly surprised",
     "next": "relax on the sofa", "why": "to surprise {B}", "describe": "hard-working"}),
    ("{A} laughed at {B}'s new haircut.", {"feel": "self-conscious", "next": "say sorry to {B}",
     "why": "the haircut looked funny to them", "describe": "mean"}),
    ("{A} invited {B} to the wedding.", {"feel": "happy to be included", "next": "send {B} the details",
     "why": "they wanted {B} to be there", "describe": "friendly"}),
    ("{A} broke {B}'s favourite mug.", {"feel": "upset", "next": "buy {B} a new mug",
     "why": "they were not paying attention", "describe": "clumsy"}),
    ("{A} waited two hours for {B} at the station.", {"feel": "guilty for being late", "next": "go home",
     "why": "they had promised to meet {B}", "describe": "loyal"}),
    ("{A} read a story to {B} before bed.", {"feel": "sleepy and calm", "next": "turn off the light",
     "why": "to help {B} fall asleep", "describe": "caring"}),
]


def build_siqa(seed: int) -> dict[str, str]:
    rng = task_rng("siqa", seed)
    used: set = set()

    def make(r: random.Random):
        a, b = r.sample(SIQA_NAMES, 2)
        item = (r.randrange(len(SIQA_SITUATIONS)), r.choice(sorted(SIQA_QUESTIONS)), a, b)
        return item, item

    files = {}
    for split, n in (("train", 300), ("validation", 40)):
        rows = []
        for i, (s, q, a, b) in enumerate(unique_sample(rng, make, n, used)):
            names = {"A": a, "B": b}
            others = rng.sample([j for j in range(len(SIQA_SITUATIONS)) if j != s], 2)
            answers = [render(SIQA_SITUATIONS[j][1][q], names) for j in others]
            pos = i % 3
            answers.insert(pos, render(SIQA_SITUATIONS[s][1][q], names))
            rows.append({"context": render(SIQA_SITUATIONS[s][0], names), "question": render(SIQA_QUESTIONS[q], names),
                         "answerA": answers[0], "answerB": answers[1], "answerC": answers[2], "label": str(pos + 1)})
        rng.shuffle(rows)
        files[f"siqa/{split}-en.jsonl"] = jsonl(rows)
    return files


# ---------------------------------------------------------------------------------------------------------------
# COPA (English) and XCOPA (et id it tr zh vi): one cause and one effect per frame
# ---------------------------------------------------------------------------------------------------------------
_COPA_COLS = ["en", "et", "id", "it", "tr", "zh", "vi"]
# (cause, effect) in each column language; the first 30 are translated for XCOPA, the last 10 are English only.
COPA_FRAMES = [tuple(_row(t, _COPA_COLS) for t in pair) for pair in [
    ("The man was hungry.|Mees oli näljane.|Pria itu lapar.|L'uomo aveva fame.|Adam açtı.|那个男人饿了。|"
     "Người đàn ông đói bụng.",
     "He ate a sandwich.|Ta sõi võileiva.|Dia makan roti lapis.|Ha mangiato un panino.|Bir sandviç yedi.|"
     "他吃了一个三明治。|Anh ấy ăn một chiếc bánh mì kẹp."),
    ("It started to rain.|Hakkas vihma sadama.|Hujan mulai turun.|Ha cominciato a piovere.|Yağmur yağmaya başladı.|"
     "开始下雨了。|Trời bắt đầu mưa.",
     "The girl opened her umbrella.|Tüdruk tegi vihmavarju lahti.|Gadis itu membuka payungnya.|"
     "La ragazza ha aperto l'ombrello.|Kız şemsiyesini açtı.|女孩打开了雨伞。|Cô gái mở ô ra."),
    ("The woman was tired.|Naine oli väsinud.|Wanita itu lelah.|La donna era stanca.|Kadın yorgundu.|那个女人很累。|"
     "Người phụ nữ mệt mỏi.",
     "She went to bed early.|Ta läks vara magama.|Dia tidur lebih awal.|È andata a letto presto.|Erkenden yattı.|"
     "她很早就睡觉了。|Cô ấy đi ngủ sớm."),
    ("The boy dropped the glass.|Poiss pillas klaasi maha.|Anak laki-laki itu menjatuhkan gelas.|"
     "Il ragazzo ha fatto cadere il bicchiere.|Çocuk bardağı düşürdü.|男孩把杯子掉在了地上。|Cậu bé làm rơi cái cốc.",
     "The glass broke.|Klaas läks katki.|Gelas itu pecah.|Il bicchiere si è rotto.|Bardak kırıldı.|杯子碎了。|"
     "Cái cốc bị vỡ."),
    ("The room was dark.|Tuba oli pime.|Ruangan itu gelap.|La stanza era buia.|Oda karanlıktı.|房间里很黑。|"
     "Căn phòng tối om.",
     "I turned on the light.|Ma panin tule põlema.|Saya menyalakan lampu.|Ho acceso la luce.|Işığı yaktım.|"
     "我打开了灯。|Tôi bật đèn lên."),
    ("The student studied hard.|Õpilane õppis usinalt.|Siswi itu belajar dengan giat.|"
     "La studentessa ha studiato molto.|Öğrenci çok çalıştı.|那个学生学习很努力。|Cô học sinh học hành chăm chỉ.",
     "She passed the exam.|Ta sooritas eksami edukalt.|Dia lulus ujian.|Ha superato l'esame.|Sınavı geçti.|"
     "她通过了考试。|Cô ấy đã thi đỗ."),
    ("The soup was too hot.|Supp oli liiga kuum.|Supnya terlalu panas.|La zuppa era troppo calda.|Çorba çok sıcaktı.|"
     "汤太烫了。|Bát canh quá nóng.",
     "I waited for it to cool down.|Ma ootasin, kuni see jahtub.|Saya menunggu supnya dingin.|"
     "Ho aspettato che si raffreddasse.|Soğumasını bekledim.|我等它凉下来。|Tôi đợi cho canh nguội bớt."),
    ("The child was cold.|Lapsel oli külm.|Anak itu kedinginan.|Il bambino aveva freddo.|Çocuk üşüyordu.|"
     "孩子觉得冷。|Đứa trẻ bị lạnh.",
     "The mother gave the child a blanket.|Ema andis lapsele teki.|Ibunya memberinya selimut.|"
     "La madre gli ha dato una coperta.|Annesi ona bir battaniye verdi.|妈妈给了孩子一条毯子。|"
     "Người mẹ đưa cho đứa trẻ một cái chăn."),
    ("The phone battery was empty.|Telefoni aku oli tühi.|Baterai ponsel itu habis.|"
     "La batteria del telefono era scarica.|Telefonun şarjı bitmişti.|手机没电了。|Điện thoại hết pin.",
     "I charged the phone.|Ma laadisin telefoni.|Saya mengisi daya ponsel itu.|Ho messo in carica il telefono.|"
     "Telefonu şarj ettim.|我给手机充了电。|Tôi sạc điện thoại."),
    ("The road was icy.|Tee oli jäine.|Jalannya licin karena es.|La strada era ghiacciata.|Yol buz tutmuştu.|"
     "路面结冰了。|Con đường bị đóng băng.",
     "The car slid off the road.|Auto libises teelt välja.|Mobil itu tergelincir keluar dari jalan.|"
     "L'auto è uscita di strada.|Araba yoldan çıktı.|汽车滑出了路面。|Chiếc xe trượt ra khỏi đường."),
    ("The baby was crying.|Beebi nuttis.|Bayi itu menangis.|Il neonato piangeva.|Bebek ağlıyordu.|婴儿在哭。|"
     "Em bé đang khóc.",
     "The father picked the baby up.|Isa võttis beebi sülle.|Ayahnya menggendong bayi itu.|"
     "Il padre ha preso in braccio il neonato.|Babası bebeği kucağına aldı.|爸爸把婴儿抱了起来。|"
     "Người bố bế em bé lên."),
    ("I forgot to water the plant.|Ma unustasin taime kasta.|Saya lupa menyiram tanaman.|"
     "Ho dimenticato di annaffiare la pianta.|Bitkiyi sulamayı unuttum.|我忘了给植物浇水。|Tôi quên tưới cây.",
     "The plant withered.|Taim närtsis.|Tanaman itu layu.|La pianta è appassita.|Bitki soldu.|植物枯萎了。|"
     "Cái cây bị héo."),
    ("The woman won the lottery.|Naine võitis loteriil.|Wanita itu memenangkan lotre.|"
     "La donna ha vinto alla lotteria.|Kadın piyangoyu kazandı.|那个女人中了彩票。|Người phụ nữ trúng xổ số.",
     "She bought a new house.|Ta ostis uue maja.|Dia membeli rumah baru.|Ha comprato una casa nuova.|"
     "Yeni bir ev satın aldı.|她买了一栋新房子。|Cô ấy mua một ngôi nhà mới."),
    ("The man missed the bus.|Mees jäi bussist maha.|Pria itu ketinggalan bus.|L'uomo ha perso l'autobus.|"
     "Adam otobüsü kaçırdı.|那个男人错过了公交车。|Người đàn ông bị lỡ xe buýt.",
     "He was late for work.|Ta jäi tööle hiljaks.|Dia terlambat masuk kerja.|È arrivato tardi al lavoro.|"
     "İşe geç kaldı.|他上班迟到了。|Anh ấy đi làm muộn."),
    ("The ice cream was in the sun.|Jäätis oli päikese käes.|Es krim itu terkena sinar matahari.|"
     "Il gelato era al sole.|Dondurma güneşte kaldı.|冰淇淋放在太阳底下。|Cây kem bị để ngoài nắng.",
     "The ice cream melted.|Jäätis sulas.|Es krim itu meleleh.|Il gelato si è sciolto.|Dondurma eridi.|冰淇淋化了。|"
     "Cây kem tan chảy."),
    ("The girl fell off her bicycle.|Tüdruk kukkus jalgrattalt.|Gadis itu jatuh dari sepedanya.|"
     "La ragazza è caduta dalla bicicletta.|Kız bisikletten düştü.|女孩从自行车上摔了下来。|Cô gái ngã xe đạp.",
     "She hurt her knee.|Ta sai põlvele haiget.|Lututnya terluka.|Si è fatta male al ginocchio.|Dizini incitti.|"
     "她摔伤了膝盖。|Cô ấy bị đau đầu gối."),
    ("The dog was barking loudly.|Koer haukus valjult.|Anjing itu menggonggong dengan keras.|Il cane abbaiava forte.|"
     "Köpek yüksek sesle havlıyordu.|狗在大声叫。|Con chó sủa rất to.",
     "The neighbours woke up.|Naabrid ärkasid üles.|Para tetangga terbangun.|I vicini si sono svegliati.|"
     "Komşular uyandı.|邻居们被吵醒了。|Hàng xóm bị đánh thức."),
    ("The man told a funny joke.|Mees rääkis naljaka anekdoodi.|Pria itu menceritakan lelucon yang lucu.|"
     "L'uomo ha raccontato una barzelletta divertente.|Adam komik bir fıkra anlattı.|那个男人讲了一个好笑的笑话。|"
     "Người đàn ông kể một câu chuyện cười.",
     "Everyone laughed.|Kõik naersid.|Semua orang tertawa.|Tutti hanno riso.|Herkes güldü.|大家都笑了。|"
     "Mọi người đều cười."),
    ("The bakery was closed.|Pagariäri oli suletud.|Toko roti itu tutup.|La panetteria era chiusa.|Fırın kapalıydı.|"
     "面包店关门了。|Tiệm bánh đóng cửa.",
     "I could not buy bread.|Ma ei saanud leiba osta.|Saya tidak bisa membeli roti.|Non ho potuto comprare il pane.|"
     "Ekmek alamadım.|我没能买到面包。|Tôi không mua được bánh mì."),
    ("The woman had a headache.|Naisel oli peavalu.|Wanita itu sakit kepala.|La donna aveva mal di testa.|"
     "Kadının başı ağrıyordu.|那个女人头疼。|Người phụ nữ bị đau đầu.",
     "She took a pill.|Ta võttis tableti.|Dia minum obat.|Ha preso una pastiglia.|Bir ağrı kesici aldı.|"
     "她吃了一片药。|Cô ấy uống một viên thuốc."),
    ("The floor was wet.|Põrand oli märg.|Lantainya basah.|Il pavimento era bagnato.|Yer ıslaktı.|地板是湿的。|"
     "Sàn nhà bị ướt.",
     "The boy slipped.|Poiss libastus.|Anak laki-laki itu terpeleset.|Il ragazzo è scivolato.|Çocuk kaydı.|"
     "男孩滑倒了。|Cậu bé bị trượt chân."),
    ("The teacher was ill.|Õpetaja oli haige.|Gurunya sakit.|L'insegnante era malato.|Öğretmen hastaydı.|"
     "老师生病了。|Giáo viên bị ốm.",
     "The class was cancelled.|Tund jäi ära.|Pelajaran dibatalkan.|La lezione è stata annullata.|"
     "Ders iptal edildi.|课被取消了。|Buổi học bị hủy."),
    ("The man was thirsty.|Mehel oli janu.|Pria itu haus.|L'uomo aveva sete.|Adam susamıştı.|那个男人口渴了。|"
     "Người đàn ông khát nước.",
     "He drank a glass of water.|Ta jõi klaasi vett.|Dia minum segelas air.|Ha bevuto un bicchiere d'acqua.|"
     "Bir bardak su içti.|他喝了一杯水。|Anh ấy uống một cốc nước."),
    ("The music was too loud.|Muusika oli liiga vali.|Musiknya terlalu keras.|La musica era troppo alta.|"
     "Müzik çok yüksekti.|音乐太吵了。|Tiếng nhạc quá to.",
     "I covered my ears.|Ma katsin kõrvad kinni.|Saya menutup telinga.|Mi sono tappato le orecchie.|"
     "Kulaklarımı kapattım.|我捂住了耳朵。|Tôi bịt tai lại."),
    ("The girl practised the piano every day.|Tüdruk harjutas iga päev klaverit.|"
     "Gadis itu berlatih piano setiap hari.|La ragazza si esercitava al pianoforte ogni giorno.|"
     "Kız her gün piyano çalıştı.|女孩每天练习弹钢琴。|Cô gái luyện đàn piano mỗi ngày.",
     "She played well at the concert.|Ta mängis kontserdil hästi.|Dia bermain dengan baik di konser.|"
     "Ha suonato bene al concerto.|Konserde çok iyi çaldı.|她在音乐会上弹得很好。|"
     "Cô ấy chơi rất hay trong buổi hòa nhạc."),
    ("The window was open.|Aken oli lahti.|Jendelanya terbuka.|La finestra era aperta.|Pencere açıktı.|窗户开着。|"
     "Cửa sổ đang mở.",
     "A bird flew into the room.|Tuppa lendas lind.|Seekor burung terbang masuk ke kamar.|"
     "Un uccello è entrato nella stanza.|Odaya bir kuş girdi.|一只鸟飞进了房间。|Một con chim bay vào phòng."),
    ("The man forgot his keys.|Mees unustas oma võtmed.|Pria itu lupa membawa kuncinya.|"
     "L'uomo ha dimenticato le chiavi.|Adam anahtarlarını unuttu.|那个男人忘了带钥匙。|Người đàn ông quên chìa khóa.",
     "He could not open the door.|Ta ei saanud ust avada.|Dia tidak bisa membuka pintu.|"
     "Non è riuscito ad aprire la porta.|Kapıyı açamadı.|他打不开门。|Anh ấy không mở được cửa."),
    ("The cake stayed in the oven for too long.|Kook oli liiga kaua ahjus.|Kue itu terlalu lama di dalam oven.|"
     "La torta è rimasta troppo a lungo nel forno.|Kek fırında çok uzun kaldı.|蛋糕在烤箱里放得太久了。|"
     "Chiếc bánh để trong lò quá lâu.",
     "The cake burned.|Kook kõrbes ära.|Kuenya gosong.|La torta si è bruciata.|Kek yandı.|蛋糕烤焦了。|"
     "Chiếc bánh bị cháy."),
    ("The boy got a puppy for his birthday.|Poiss sai sünnipäevaks kutsika.|"
     "Anak laki-laki itu mendapat anak anjing pada hari ulang tahunnya.|"
     "Il ragazzo ha ricevuto un cucciolo per il compleanno.|Çocuğa doğum gününde bir köpek yavrusu hediye edildi.|"
     "男孩过生日时得到了一只小狗。|Cậu bé được tặng một chú cún con vào ngày sinh nhật.",
     "He was very happy.|Ta oli väga õnnelik.|Dia sangat senang.|Era molto felice.|Çok mutlu oldu.|他非常高兴。|"
     "Cậu ấy rất vui."),
    ("The river flooded.|Jõgi tõusis üle kallaste.|Sungai itu meluap.|Il fiume è straripato.|Nehir taştı.|"
     "河水泛滥了。|Nước sông dâng tràn.",
     "The farmers lost their harvest.|Talunikud kaotasid oma saagi.|Para petani kehilangan hasil panen mereka.|"
     "I contadini hanno perso il raccolto.|Çiftçiler hasatlarını kaybetti.|农民们失去了收成。|Nông dân bị mất mùa."),
]] + [({"en": c}, {"en": e}) for c, e in [
    ("The tap was leaking.", "I called a plumber."),
    ("The baby was asleep.", "We spoke quietly."),
    ("The sun came out.", "The snow began to melt."),
    ("The tyre had a hole.", "I pushed the bicycle home."),
    ("The concert was sold out.", "We could not get tickets."),
    ("The milk smelled bad.", "I poured it away."),
    ("The man lost his job.", "He looked for a new one."),
    ("The girl saw a spider.", "She screamed."),
    ("The oven was very hot.", "I used oven gloves."),
    ("The car ran out of petrol.", "The driver walked to a petrol station."),
]]
N_XCOPA_FRAMES = 30


def copa_item(lang: str, frame: int, question: str, distractor: int, label: int) -> dict:
    """premise/choices for one COPA item: 'effect' asks what followed the cause, 'cause' what led to the effect."""
    cause, effect = COPA_FRAMES[frame]
    if question == "effect":
        premise, right, wrong = cause[lang], effect[lang], COPA_FRAMES[distractor][1][lang]
    else:
        premise, right, wrong = effect[lang], cause[lang], COPA_FRAMES[distractor][0][lang]
    choices = [wrong, right] if label == 1 else [right, wrong]
    return {"premise": premise, "choice1": choices[0], "choice2": choices[1], "question": question}


def build_copa_xcopa(seed: int) -> dict[str, str]:
    rng = task_rng("copa", seed)
    files = {}
    n = len(COPA_FRAMES)
    specs = [(f, q) for f in range(n) for q in ("cause", "effect")]
    # Each (frame, question) gets three different distractors: two for training, one for validation. Validation
    # items therefore share premise and answer with training items (the English check is "did it learn"), while
    # the wrong choice is new.
    distractors = {s: rng.sample([j for j in range(n) if j != s[0]], 3) for s in specs}
    train = [(s, distractors[s][0]) for s in specs] + [(s, distractors[s][1]) for s in rng.sample(specs, 20)]
    val = [(s, distractors[s][2]) for s in rng.sample(specs, 40)]
    for split, items in (("train", train), ("validation", val)):
        rng.shuffle(items)
        rows = []
        for i, ((f, q), d) in enumerate(items):
            row = copa_item("en", f, q, d, i % 2)
            rows.append({**row, "idx": i, "label": i % 2})
        files[f"copa/{split}-en.jsonl"] = jsonl(rows)
    # XCOPA: 60 items (30 translated frames x cause/effect) realised identically in the six languages.
    x_specs = [(f, q, (f + rng.randrange(1, N_XCOPA_FRAMES)) % N_XCOPA_FRAMES)
               for f in range(N_XCOPA_FRAMES) for q in ("cause", "effect")]
    rng.shuffle(x_specs)
    for split, part in (("validation", x_specs[:20]), ("test", x_specs[20:60])):
        for lang in XCOPA_LANGS:
            rows = []
            for i, (f, q, d) in enumerate(part):
                rows.append({**copa_item(lang, f, q, d, i % 2), "label": i % 2, "idx": i, "changed": False})
            files[f"xcopa/{split}-{lang}.jsonl"] = jsonl(rows)
    return files


# ---------------------------------------------------------------------------------------------------------------
# STS-B: English sentence pairs scored 0-5 by how much of one event they share
# ---------------------------------------------------------------------------------------------------------------
# The four parts of a clause's event (who, what, where, when); a pair's score is 5 x the share of parts it keeps,
# plus a little noise, so a tiny model can learn it from lexical overlap. The second sentence may front its time
# phrase, so word order alone does not tell.
STSB_PARTS = ("name", "act", "place", "time")
STSB_NOISE = 0.3  # standard deviation of the score noise; scores are clipped to [0, 5] and rounded to 2 decimals


def stsb_changed(rng: random.Random, frame: tuple, changed: set[str]) -> tuple:
    """``frame`` with the parts named in ``changed`` replaced by other values that still make sense together (an
    activity's verb allows its place)."""
    name, act, place, time = frame
    if "name" in changed:
        name = rng.choice([i for i in range(len(NAMES)) if i != name])
    if "act" in changed:
        allowed = [a for a in ACTIVITIES if a != act and ("place" in changed or place in VERB_PLACES[a[0]])]
        act = rng.choice(allowed)
    if "place" in changed:
        place = rng.choice([p for p in VERB_PLACES[act[0]] if p != place])
    if "time" in changed:
        time = rng.choice([t for t in sorted(TIMES) if t != time])
    return name, act, place, time


def stsb_sentence(frame: tuple, fronted: bool) -> str:
    """The English clause of ``frame``; ``fronted``: its time phrase first ("In the morning, Anna reads ...")."""
    if not fronted:
        return clause("en", frame)
    name, act, place, time = frame
    gender, forms = NAMES[name]
    return cap(render("{T}, {S} {V} {O} {P}.", clause_values("en", forms["en"], gender, act, place, time), gender))


def build_stsb(seed: int) -> dict[str, str]:
    rng = task_rng("stsb", seed)
    used: set = set()
    files = {}
    for split, n in (("train", 200), ("validation", 60)):
        rows = []
        for i, frame in enumerate(unique_sample(rng, frame_item, n, used)):
            kept = 4 - i % 5  # every share of kept parts equally often: scores spread over 0-5
            changed = set(rng.sample(STSB_PARTS, 4 - kept))
            other = stsb_changed(rng, frame, changed)
            score = min(5.0, max(0.0, 5.0 * kept / 4 + rng.gauss(0.0, STSB_NOISE)))
            rows.append({"sentence1": clause("en", frame), "sentence2": stsb_sentence(other, rng.random() < 0.5),
                         "label": round(score, 2)})
        rng.shuffle(rows)
        files[f"stsb/{split}-en.jsonl"] = jsonl([{**r, "idx": i} for i, r in enumerate(rows)])
    return files


# ---------------------------------------------------------------------------------------------------------------
# Plain-text corpus for the tiny tokenizer (phase 1) and held-out samples for tokenizer statistics
# ---------------------------------------------------------------------------------------------------------------
def _detok(tokens: list[str], lang: str) -> str:
    if lang in NO_SPACE:
        return "".join(tokens)
    text = " ".join(tokens)
    for a, b in ((" .", "."), (" ,", ","), (" ،", "،"), (" ؛", "؛"), (" ;", ";"), ("« ", "«"), (" »", "»")):
        text = text.replace(a, b)
    return text


def task_sentences(files: dict[str, str]) -> dict[str, list[str]]:
    """Every sentence of the generated task files, grouped by language (deduplicated, in file order)."""
    iso = {v: k for k, v in TATOEBA_ISO3.items()}
    out: dict[str, list[str]] = {lang: [] for lang in CORPUS_LANGS}
    for path in sorted(files):
        if not path.endswith(".jsonl"):
            continue
        task, name = path.split("/")
        lang = name[:-len(".jsonl")].split("-", 1)[1]
        for line in files[path].splitlines():
            row = json.loads(line)
            if task == "tatoeba":
                out[iso[lang]].append(row["source_sentence"].strip())
                out["en"].append(row["target_sentence"].strip())
            elif task == "panx":
                out[lang].append(_detok(row["tokens"], lang))
            else:
                for key in ("premise", "hypothesis", "sentence1", "sentence2", "context", "question", "choice1",
                            "choice2"):
                    if key in row:
                        out[lang].append(row[key])
    return {lang: list(dict.fromkeys(s)) for lang, s in out.items()}


def build_corpus(seed: int, files: dict[str, str]) -> dict[str, str]:
    """300 training lines and 30 held-out lines per language: task sentences plus fresh clauses, no overlap."""
    rng = task_rng("corpus", seed)
    sentences = task_sentences(files)
    out = {}

    def fresh(lang: str, seen: set[str], k: int) -> list[str]:
        """``k`` new clauses in ``lang``, none in ``seen`` (which records them)."""
        lines = []
        while len(lines) < k:
            line = clause(lang, random_frame(rng))
            if line not in seen:
                seen.add(line)
                lines.append(line)
        return lines

    for lang in CORPUS_LANGS:
        pool = sentences[lang][:]
        rng.shuffle(pool)
        seen = set(pool)
        held_task = pool[:10]
        corpus = pool[10:160]
        corpus += fresh(lang, seen, 300 - len(corpus))
        sample = held_task + fresh(lang, seen, 30 - len(held_task))
        assert not set(corpus) & set(sample)
        out[f"corpus/{lang}.txt"] = "\n".join(corpus) + "\n"
        out[f"corpus/sample-{lang}.txt"] = "\n".join(sample) + "\n"
    return out


# ---------------------------------------------------------------------------------------------------------------
# README, assembly, command line
# ---------------------------------------------------------------------------------------------------------------
README_HEAD = """# Quickstart data (synthetic)

Small multilingual data for the offline quickstart: it lets the whole pipeline (tokenizer, intermediate task,
target task, zero-shot evaluation in several languages) run on a laptop CPU in minutes, through the same code
paths as a real run.

- **Synthetic, written for this project.** Every sentence is produced by `tools/make_quickstart_data.py` from
  hand-written templates and small vocabularies per language; nothing is copied from XNLI, PAWS-X, SQuAD, XQuAD,
  PAN-X, Tatoeba, SIQA, COPA, XCOPA or STS-B. Released under **CC0 1.0** (public domain dedication).
- **Deterministic.** `python tools/make_quickstart_data.py --check` regenerates everything and fails if a file
  differs; `--out DIR` writes elsewhere.
- **Hub schema.** Each `<task>/<split>-<lang>.jsonl` holds one JSON object per line with the exact columns and
  value types of that task's Hugging Face Hub dataset (XNLI `facebook/xnli`, MNLI `nyu-mll/glue` mnli, PAWS-X
  `google-research-datasets/paws-x`, SQuAD `rajpurkar/squad`, XQuAD `google/xquad`, PAN-X `google/xtreme`
  PAN-X.<lang>, Tatoeba `google/xtreme` tatoeba.<iso3>, SIQA `allenai/social_i_qa`, COPA `super_glue` copa,
  XCOPA `cambridgeltl/xcopa`, STS-B `nyu-mll/glue` stsb), so the loader builds a `datasets.Dataset` with the Hub
  features and applies the same normalisation as for Hub data. Like the Hub copy, Tatoeba sentences end in `"\\n"`;
  Tatoeba files are named by the ISO 639-3 config (`test-deu.jsonl`). `corpus/<lang>.txt` is plain text (one
  sentence per line) for training the tiny tokenizer; `corpus/sample-<lang>.txt` holds 30 different lines for
  unknown-token and tokens-per-word statistics.
- **Learnable on purpose.** Labels follow simple, consistent patterns: NLI entailment restates part of the premise,
  contradiction negates it, neutral adds an unrelated fact; PAWS-X paraphrases move the time phrase, non-paraphrases
  swap who did what to whom; QA answers are city, year, company, head count, founder or place; SIQA and COPA wrong
  answers come from other situations; an STS-B pair's score is 5 x the share of its event (who, what, where, when)
  the two sentences share, plus noise (its sentences are left out of the tokenizer corpus, which stays as it was
  before STS-B). Test sets of the multilingual tasks are the same items in every language (like the real translated
  test sets). XCOPA's items are translations of 30 of the 40 COPA frames, and COPA validation shares premises with
  COPA training (with new wrong choices).

**Numbers on this data only prove that the pipeline runs** (and that a model learns something); they say nothing
about cross-lingual transfer and must never be reported as results.

## Files and sizes
"""


def build_all(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Every file of the quickstart data: relative path -> text (UTF-8, "\\n" line ends)."""
    files: dict[str, str] = {}
    for builder in (build_xnli, build_mnli, build_pawsx, build_squad_xquad, build_panx, build_tatoeba, build_siqa,
                    build_copa_xcopa):
        files.update(builder(seed))
    files.update(build_corpus(seed, files))
    # STS-B after the corpus: the tiny tokenizer's corpus, and so every number of the quickstart, stays what it was
    # before the task existed (its sentences are the shared English clauses, which the corpus already covers).
    files.update(build_stsb(seed))
    files["README.md"] = readme(files)
    return dict(sorted(files.items()))


def readme(files: dict[str, str]) -> str:
    """README text: the fixed description plus a per-folder table of files, rows and bytes."""
    groups: dict[str, dict[tuple[str, int], list[str]]] = {}
    sizes: dict[str, int] = {}
    for path, text in sorted(files.items()):
        folder, name = path.split("/")
        stem, ext = name.rsplit(".", 1)
        split, lang = stem.rsplit("-", 1) if "-" in stem else ("", stem)
        pattern = f"{split}-<lang>.{ext}" if split else f"<lang>.{ext}"
        groups.setdefault(folder, {}).setdefault((pattern, text.count("\n")), []).append(lang)
        sizes[folder] = sizes.get(folder, 0) + len(text.encode("utf-8"))
    lines = ["| folder | files: languages (rows or lines per file) | bytes |", "|---|---|---|"]
    for folder, parts in groups.items():
        desc = "; ".join(f"`{pattern}`: {' '.join(langs)} ({rows})" for (pattern, rows), langs in parts.items())
        lines.append(f"| `{folder}/` | {desc} | {sizes[folder]:,} |")
    lines.append(f"| total (without this README) | | {sum(sizes.values()):,} |")
    return README_HEAD + "\n" + "\n".join(lines) + "\n"


def write_all(files: dict[str, str], out: Path) -> None:
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def compare(files: dict[str, str], out: Path) -> list[str]:
    """Differences between the generated files and those in ``out`` (missing, changed or extra files)."""
    problems = []
    for rel, text in files.items():
        path = out / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"differs: {rel}")
    if out.is_dir():
        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in files:
                problems.append(f"extra: {rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (the shipped data uses 13)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files in --out differ from a fresh generation")
    args = parser.parse_args(argv)
    files = build_all(args.seed)
    if args.check:
        problems = compare(files, args.out)
        for p in problems:
            print(p, file=sys.stderr)
        print(f"{len(files)} files checked in {args.out}: {'stale' if problems else 'up to date'}")
        return 1 if problems else 0
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder")
    write_all(files, args.out)
    total = sum(len(t.encode("utf-8")) for t in files.values())
    print(f"wrote {len(files)} files ({total:,} bytes) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
