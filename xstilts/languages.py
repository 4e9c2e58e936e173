"""Language facts kept as data: XTREME / XTREME-R evaluation languages, the name forms the Hub configs use, and the
writing system of each language."""
from __future__ import annotations

# ISO 639-1 -> the English name used by `google/xtreme` udpos configs (udpos.<Name>).
UDPOS_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "eu": "Basque", "bg": "Bulgarian", "nl": "Dutch", "en": "English",
    "et": "Estonian", "fi": "Finnish", "fr": "French", "de": "German", "el": "Greek", "he": "Hebrew", "hi": "Hindi",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "kk": "Kazakh", "ko": "Korean",
    "zh": "Chinese", "mr": "Marathi", "fa": "Persian", "pt": "Portuguese", "ru": "Russian", "es": "Spanish",
    "tl": "Tagalog", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tr": "Turkish", "ur": "Urdu", "vi": "Vietnamese",
    "yo": "Yoruba",
}

# ISO 639-1 -> the ISO 639-3 code of Tatoeba (LASER) files and `google/xtreme` tatoeba.<iso3> configs.
TATOEBA_ISO3 = {
    "af": "afr", "ar": "ara", "bn": "ben", "bg": "bul", "zh": "cmn", "de": "deu", "el": "ell", "et": "est",
    "eu": "eus", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind", "it": "ita",
    "jv": "jav", "ja": "jpn", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar", "nl": "nld",
    "fa": "pes", "pt": "por", "ru": "rus", "es": "spa", "sw": "swh", "ta": "tam", "te": "tel", "tl": "tgl",
    "th": "tha", "tr": "tur", "ur": "urd", "vi": "vie",
    # XTREME-R additions
    "az": "aze", "lt": "lit", "pl": "pol", "uk": "ukr", "ro": "ron",
}

# Script of every XTREME / XTREME-R language. Grouping languages by script makes tokenizer coverage visible: an
# English-only vocabulary covers Latin script at best.
SCRIPTS: dict[str, str] = {
    "af": "Latin", "az": "Latin", "de": "Latin", "en": "Latin", "es": "Latin", "et": "Latin", "eu": "Latin",
    "fi": "Latin", "fr": "Latin", "ht": "Latin", "hu": "Latin", "id": "Latin", "it": "Latin", "jv": "Latin",
    "lt": "Latin", "ms": "Latin", "nl": "Latin", "pl": "Latin", "pt": "Latin", "qu": "Latin", "ro": "Latin",
    "sw": "Latin", "tl": "Latin", "tr": "Latin", "vi": "Latin", "wo": "Latin", "yo": "Latin",
    "bg": "Cyrillic", "kk": "Cyrillic", "ru": "Cyrillic", "uk": "Cyrillic",
    "el": "Greek", "ka": "Georgian", "he": "Hebrew",
    "ar": "Arabic", "fa": "Arabic", "ur": "Arabic",
    "hi": "Devanagari", "mr": "Devanagari", "bn": "Bengali", "gu": "Gujarati", "pa": "Gurmukhi",
    "ta": "Tamil", "te": "Telugu", "ml": "Malayalam",
    "th": "Thai", "my": "Myanmar",
    "zh": "Han", "ja": "Japanese", "ko": "Hangul",
}


def script_of(lang: str) -> str:
    """The writing system of a language code (a region suffix such as ``zh-TW`` ignored); "Other" outside
    ``SCRIPTS``."""
    return SCRIPTS.get(lang.split("-")[0].lower(), "Other")


# TyDiQA-GoldP ids start with the language's English name.
TYDIQA_NAMES = {
    "arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id", "korean": "ko",
    "russian": "ru", "swahili": "sw", "telugu": "te",
}

XNLI = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh")
PAWSX = ("de", "en", "es", "fr", "ja", "ko", "zh")
UDPOS = ("af", "ar", "bg", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it", "ja",
         "kk", "ko", "mr", "nl", "pt", "ru", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh")
UDPOS_R = tuple(sorted(UDPOS + ("lt", "pl", "ro", "uk", "wo")))
PANX = ("af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it",
        "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr",
        "ur", "vi", "yo", "zh")
PANX_R = tuple(sorted(PANX + ("az", "gu", "lt", "pa", "pl", "qu", "ro", "uk")))
XQUAD = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
XQUAD_R = tuple(sorted(XQUAD + ("ro",)))
MLQA = ("ar", "de", "en", "es", "hi", "vi", "zh")
TYDIQA = ("ar", "bn", "en", "fi", "id", "ko", "ru", "sw", "te")
BUCC = ("de", "fr", "ru", "zh")
TATOEBA = ("af", "ar", "bg", "bn", "de", "el", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "hu", "id", "it", "ja",
           "jv", "ka", "kk", "ko", "ml", "mr", "nl", "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "zh")
TATOEBA_R = tuple(sorted(TATOEBA + ("az", "lt", "pl", "ro", "uk")))
XCOPA = ("et", "ht", "id", "it", "qu", "sw", "ta", "th", "tr", "vi", "zh")
MEWSLIX = ("ar", "de", "en", "es", "fa", "ja", "pl", "ro", "ta", "tr", "uk")
LAREQA = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
