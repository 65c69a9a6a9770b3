"""The trained urgency model: shipped, deterministic, explainable, honest about languages."""

from __future__ import annotations

import pytest

from skills.cues import find_cues
from skills.emotion import neutral_urgency, score_text
from skills.features import HashtagSplitter, featurize, tokenize
from skills.lexicons import CATEGORY_FLOORS
from skills.urgency_model import language_model, model_info, modelled_languages


def test_the_shipped_model_covers_italian_and_english() -> None:
    assert set(modelled_languages()) == {"it", "en"}
    info = model_info()
    assert info["seed"] == 14
    for language in ("it", "en"):
        model = language_model(language)
        assert model is not None and len(model.words) > 1000 and len(model.chars) > 1000
        assert 0.0 < model.threshold < 1.0


def test_scores_are_deterministic_and_within_zero_and_one() -> None:
    text = "Ho chiamato tre volte e nessuno mi ha aiutato, sono stufo!!!"
    first, second = score_text(text, "it"), score_text(text, "it")
    assert first == second
    for message, language in [
        (text, "it"),
        ("Thanks so much, all sorted!", "en"),
        ("", "en"),
        ("?!?!?!", "it"),
        ("x" * 5000, "en"),
    ]:
        assert 0.0 <= score_text(message, language).urgency <= 1.0


def test_complaints_stated_as_facts_or_questions_rank_above_plain_requests() -> None:
    plain = score_text("Could you send me a copy of my invoice?", "en").urgency
    assert score_text("45 min wait for bags and still nothing", "en").urgency > plain
    richiesta = score_text("Vorrei una copia della fattura", "it").urgency
    assert score_text("non è ordinabile on line… perché????", "it").urgency > richiesta


def test_hashtags_are_split_into_words() -> None:
    splitter = HashtagSplitter({"worst": 50, "customer": 30, "service": 80, "ever": 60})
    tokens, hashtags = tokenize("#WorstServiceEver #worstcustomerserviceever", "en", splitter)
    assert tokens == ["worst", "service", "ever", "worst", "customer", "service", "ever"]
    assert hashtags == ["#worstserviceever", "#worstcustomerserviceever"]
    model = language_model("en")
    assert model is not None
    assert model.splitter.split("iwantmymoneyback") == ("i", "want", "my", "money", "back")


def test_negation_marks_the_words_after_it_within_the_clause() -> None:
    text = "I am not happy at all. Great"
    features = featurize(text, "en", find_cues(text, "en"), HashtagSplitter({}))
    assert "happy_NEG" in features.words and "happy" not in features.words
    assert "great" in features.words  # a new sentence ends the scope


def test_sarcasm_is_a_complaint_not_praise() -> None:
    cues = find_cues("Grazie per niente, complimenti davvero", "it")
    assert cues.sarcasm == ("grazie per niente", "complimenti davvero")
    assert cues.praise == ()
    assert find_cues("thanks for nothing", "en").sarcasm == ("thanks for nothing",)
    assert score_text("Grazie per niente, complimenti davvero", "it").label == "negative"


def test_repeated_question_and_exclamation_marks_are_counted() -> None:
    cues = find_cues("perché???? ma come?! basta!", "it")
    assert (cues.questions, cues.exclamations, cues.repeated_marks) == (5, 2, 2)
    assert "repeated ?/!: 2" in cues.signals()


def test_every_score_names_the_model_and_the_ngrams_that_weighed_most() -> None:
    score = score_text("Worst airline ever, lost my bags and nobody answers the phone", "en")
    assert score.label == "negative"
    assert any(s.startswith("model (en): P(negative)") for s in score.signals)
    (ngrams,) = [s for s in score.signals if s.startswith("n-grams toward negative: ")]
    assert 1 <= len(ngrams.split(": ", 1)[1].split(", ")) <= 3


def test_moments_of_truth_keep_their_floor() -> None:
    score = score_text("Vorrei parlare con il mio avvocato di questa fattura", "it")
    assert score.urgency >= CATEGORY_FLOORS["legal"]
    assert "legal: avvocato" in score.signals


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Ich bin sehr verärgert, niemand antwortet!", "de"),
        ("Je suis furieux, personne ne répond", "fr"),
        ("Estoy muy enfadado, nadie contesta", "es"),
    ],
)
def test_languages_not_modelled_get_a_neutral_urgency(text: str, language: str) -> None:
    score = score_text(text, language)
    assert score.urgency == neutral_urgency() and score.label == "neutral"
    assert score.signals == (f"language not modelled: {language}",)
    assert 0.0 < neutral_urgency() < 0.5


def test_a_regional_tag_is_its_language() -> None:
    text = "I was charged twice and nobody answers"
    assert score_text(text, "en-US") == score_text(text, "EN") == score_text(text, "en")


def test_unknown_language_takes_the_more_urgent_reading() -> None:
    text = "Sono furioso, nessuno risponde"
    assert score_text(text, None).urgency == max(
        score_text(text, "it").urgency, score_text(text, "en").urgency
    )
