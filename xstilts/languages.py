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


# ISO 15924 script codes of FLORES-200 language variants (``eng_Latn``, SIB-200 and Belebele) -> the names above.
FLORES_SCRIPTS = {
    "Latn": "Latin", "Cyrl": "Cyrillic", "Grek": "Greek", "Geor": "Georgian", "Hebr": "Hebrew", "Arab": "Arabic",
    "Deva": "Devanagari", "Beng": "Bengali", "Gujr": "Gujarati", "Guru": "Gurmukhi", "Taml": "Tamil", "Telu": "Telugu",
    "Mlym": "Malayalam", "Knda": "Kannada", "Orya": "Oriya", "Sinh": "Sinhala", "Thai": "Thai", "Laoo": "Lao",
    "Khmr": "Khmer", "Mymr": "Myanmar", "Tibt": "Tibetan", "Hans": "Han", "Hant": "Han", "Jpan": "Japanese",
    "Hang": "Hangul", "Ethi": "Ethiopic", "Armn": "Armenian", "Tfng": "Tifinagh", "Nkoo": "N'Ko", "Olck": "Ol Chiki",
}


def script_of(lang: str) -> str:
    """The writing system of a language code (a region suffix such as ``zh-TW`` ignored; a FLORES-200 variant such as
    ``hin_Deva`` names its own script); "Other" outside ``SCRIPTS``."""
    if "_" in lang:
        return FLORES_SCRIPTS.get(lang.rsplit("_", 1)[1], "Other")
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


# ---- Beyond XTREME -------------------------------------------------------------------------------------------------
# Language variants in FLORES-200 codes (ISO 639-3 + ISO 15924 script), the Hub config names of both datasets.
# SIB-200 (Davlan/sib200): the 205 configs of its card (MTEB's SIB200Classification.v3 lists the same 205: its v1 list
# of 197 plus ace_Arab arb_Arab bjn_Arab kas_Arab knc_Arab min_Arab taq_Latn zho_Hans).
SIB200 = (
    "ace_Arab", "ace_Latn", "acm_Arab", "acq_Arab", "aeb_Arab", "afr_Latn", "ajp_Arab", "aka_Latn", "als_Latn",
    "amh_Ethi", "apc_Arab", "arb_Arab", "arb_Latn", "ars_Arab", "ary_Arab", "arz_Arab", "asm_Beng", "ast_Latn",
    "awa_Deva", "ayr_Latn", "azb_Arab", "azj_Latn", "bak_Cyrl", "bam_Latn", "ban_Latn", "bel_Cyrl", "bem_Latn",
    "ben_Beng", "bho_Deva", "bjn_Arab", "bjn_Latn", "bod_Tibt", "bos_Latn", "bug_Latn", "bul_Cyrl", "cat_Latn",
    "ceb_Latn", "ces_Latn", "cjk_Latn", "ckb_Arab", "crh_Latn", "cym_Latn", "dan_Latn", "deu_Latn", "dik_Latn",
    "dyu_Latn", "dzo_Tibt", "ell_Grek", "eng_Latn", "epo_Latn", "est_Latn", "eus_Latn", "ewe_Latn", "fao_Latn",
    "fij_Latn", "fin_Latn", "fon_Latn", "fra_Latn", "fur_Latn", "fuv_Latn", "gaz_Latn", "gla_Latn", "gle_Latn",
    "glg_Latn", "grn_Latn", "guj_Gujr", "hat_Latn", "hau_Latn", "heb_Hebr", "hin_Deva", "hne_Deva", "hrv_Latn",
    "hun_Latn", "hye_Armn", "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn", "ita_Latn", "jav_Latn", "jpn_Jpan",
    "kab_Latn", "kac_Latn", "kam_Latn", "kan_Knda", "kas_Arab", "kas_Deva", "kat_Geor", "kaz_Cyrl", "kbp_Latn",
    "kea_Latn", "khk_Cyrl", "khm_Khmr", "kik_Latn", "kin_Latn", "kir_Cyrl", "kmb_Latn", "kmr_Latn", "knc_Arab",
    "knc_Latn", "kon_Latn", "kor_Hang", "lao_Laoo", "lij_Latn", "lim_Latn", "lin_Latn", "lit_Latn", "lmo_Latn",
    "ltg_Latn", "ltz_Latn", "lua_Latn", "lug_Latn", "luo_Latn", "lus_Latn", "lvs_Latn", "mag_Deva", "mai_Deva",
    "mal_Mlym", "mar_Deva", "min_Arab", "min_Latn", "mkd_Cyrl", "mlt_Latn", "mni_Beng", "mos_Latn", "mri_Latn",
    "mya_Mymr", "nld_Latn", "nno_Latn", "nob_Latn", "npi_Deva", "nqo_Nkoo", "nso_Latn", "nus_Latn", "nya_Latn",
    "oci_Latn", "ory_Orya", "pag_Latn", "pan_Guru", "pap_Latn", "pbt_Arab", "pes_Arab", "plt_Latn", "pol_Latn",
    "por_Latn", "prs_Arab", "quy_Latn", "ron_Latn", "run_Latn", "rus_Cyrl", "sag_Latn", "san_Deva", "sat_Olck",
    "scn_Latn", "shn_Mymr", "sin_Sinh", "slk_Latn", "slv_Latn", "smo_Latn", "sna_Latn", "snd_Arab", "som_Latn",
    "sot_Latn", "spa_Latn", "srd_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn", "swh_Latn", "szl_Latn",
    "tam_Taml", "taq_Latn", "taq_Tfng", "tat_Cyrl", "tel_Telu", "tgk_Cyrl", "tgl_Latn", "tha_Thai", "tir_Ethi",
    "tpi_Latn", "tsn_Latn", "tso_Latn", "tuk_Latn", "tum_Latn", "tur_Latn", "twi_Latn", "tzm_Tfng", "uig_Arab",
    "ukr_Cyrl", "umb_Latn", "urd_Arab", "uzn_Latn", "vec_Latn", "vie_Latn", "war_Latn", "wol_Latn", "xho_Latn",
    "ydd_Hebr", "yor_Latn", "yue_Hant", "zho_Hans", "zho_Hant", "zsm_Latn", "zul_Latn",
)
# Belebele (facebook/belebele): its 122 language variants, one config each (split "test").
BELEBELE = (
    "acm_Arab", "afr_Latn", "als_Latn", "amh_Ethi", "apc_Arab", "arb_Arab", "arb_Latn", "ars_Arab", "ary_Arab",
    "arz_Arab", "asm_Beng", "azj_Latn", "bam_Latn", "ben_Beng", "ben_Latn", "bod_Tibt", "bul_Cyrl", "cat_Latn",
    "ceb_Latn", "ces_Latn", "ckb_Arab", "dan_Latn", "deu_Latn", "ell_Grek", "eng_Latn", "est_Latn", "eus_Latn",
    "fin_Latn", "fra_Latn", "fuv_Latn", "gaz_Latn", "grn_Latn", "guj_Gujr", "hat_Latn", "hau_Latn", "heb_Hebr",
    "hin_Deva", "hin_Latn", "hrv_Latn", "hun_Latn", "hye_Armn", "ibo_Latn", "ilo_Latn", "ind_Latn", "isl_Latn",
    "ita_Latn", "jav_Latn", "jpn_Jpan", "kac_Latn", "kan_Knda", "kat_Geor", "kaz_Cyrl", "kea_Latn", "khk_Cyrl",
    "khm_Khmr", "kin_Latn", "kir_Cyrl", "kor_Hang", "lao_Laoo", "lin_Latn", "lit_Latn", "lug_Latn", "luo_Latn",
    "lvs_Latn", "mal_Mlym", "mar_Deva", "mkd_Cyrl", "mlt_Latn", "mri_Latn", "mya_Mymr", "nld_Latn", "nob_Latn",
    "npi_Deva", "npi_Latn", "nso_Latn", "nya_Latn", "ory_Orya", "pan_Guru", "pbt_Arab", "pes_Arab", "plt_Latn",
    "pol_Latn", "por_Latn", "ron_Latn", "rus_Cyrl", "shn_Mymr", "sin_Latn", "sin_Sinh", "slk_Latn", "slv_Latn",
    "sna_Latn", "snd_Arab", "som_Latn", "sot_Latn", "spa_Latn", "srp_Cyrl", "ssw_Latn", "sun_Latn", "swe_Latn",
    "swh_Latn", "tam_Taml", "tel_Telu", "tgk_Cyrl", "tgl_Latn", "tha_Thai", "tir_Ethi", "tsn_Latn", "tso_Latn",
    "tur_Latn", "ukr_Cyrl", "urd_Arab", "urd_Latn", "uzn_Latn", "vie_Latn", "war_Latn", "wol_Latn", "xho_Latn",
    "yor_Latn", "zho_Hans", "zho_Hant", "zsm_Latn", "zul_Latn",
)
# MasakhaNER 2.0 (masakhane/masakhaner2): its 20 African languages, in the dataset's config names (ISO 639-3); all
# written in Latin script.
MASAKHANER = ("bam", "bbj", "ewe", "fon", "hau", "ibo", "kin", "lug", "luo", "mos", "nya", "pcm", "sna", "swa", "tsn",
              "twi", "wol", "xho", "yor", "zul")
SCRIPTS.update({lang: "Latin" for lang in MASAKHANER})
