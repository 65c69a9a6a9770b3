"""The emotion/urgency detector on realistic customer-service messages, Italian and English.

Urgency is now the trained model's calibrated P(negative) (with lexicon floors), so a calm
message scores low rather than exactly 0: the assertions compare messages with each
other and with the language's threshold instead of expecting zeros.
"""

from __future__ import annotations

import csv

import pytest

from skills.emotion import combine, from_provider, score_text
from skills.evaluation import metrics, recall_at_precision, reliability, roc_auc
from skills.text import fold
from tests.paths import TEST_DATA

DATA = TEST_DATA


@pytest.mark.parametrize(
    ("language", "calm", "annoyed", "furious"),
    [
        (
            "it",
            "Vorrei sapere il saldo del conto",
            "Sono deluso, la bolletta è sbagliata",
            "È la TERZA volta che chiamo!!! Se non risolvete faccio disdetta e chiamo l'avvocato",
        ),
        (
            "en",
            "Could you tell me my balance?",
            "I'm disappointed, the bill is wrong",
            "This is the THIRD time I'm calling!!! "
            "Fix it or I cancel my account and call my lawyer",
        ),
    ],
)
def test_urgency_orders_messages_by_how_upset_the_customer_is(
    language: str, calm: str, annoyed: str, furious: str
) -> None:
    scores = [score_text(text, language).urgency for text in (calm, annoyed, furious)]
    assert scores[0] < scores[1] < scores[2]
    assert scores[0] < 0.15 and scores[2] > 0.9


@pytest.mark.parametrize(
    ("language", "negated_praise", "negated_anger", "anger"),
    [
        (
            "it",
            "Non sono soddisfatto del servizio",
            "Non sono arrabbiato, chiedevo solo un'informazione",
            "Sono arrabbiato, chiedevo solo un'informazione",
        ),
        (
            "en",
            "I am not happy with the service",
            "I'm not angry, I just have a question",
            "I'm angry, I just have a question",
        ),
    ],
)
def test_negation_flips_praise_and_cancels_anger(
    language: str, negated_praise: str, negated_anger: str, anger: str
) -> None:
    praise = score_text(negated_praise, language)
    assert praise.label == "negative" and any("negated praise" in s for s in praise.signals)
    calm = score_text(negated_anger, language)
    assert calm.label == "neutral" and any("negated anger" in s for s in calm.signals)
    assert calm.urgency < score_text(anger, language).urgency


def test_negation_does_not_cross_a_sentence() -> None:
    score = score_text("Still not fixed. Unacceptable!", "en")
    assert "anger: unacceptable" in score.signals


def test_customer_service_words_general_lexicons_get_wrong() -> None:
    assert score_text("Sono rimasto molto deluso", "it").label == "negative"
    assert score_text("Problema risolto, grazie!", "it").label == "positive"
    assert score_text("Thanks again for your help", "en").label == "positive"


def test_capitals_exclamations_and_emoji_add_urgency() -> None:
    plain = score_text("la fattura è sbagliata", "it").urgency
    assert score_text("la fattura è SBAGLIATA, VERGOGNA", "it").urgency > plain
    assert score_text("la fattura è sbagliata 😡", "it").urgency > plain
    # "!!!" is a feature the model weighs, and tweets use it for joy as often as for anger:
    # it is reported and the complaint stays a complaint, but it does not add urgency alone
    for text, language in [("la fattura è sbagliata!!!", "it"), ("the bill is wrong!!!", "en")]:
        shouted = score_text(text, language)
        assert shouted.label == "negative"
        assert {"exclamations: 3", "repeated ?/!: 1"} <= set(shouted.signals)


def test_intensifier_is_reported_with_the_complaint() -> None:
    # the model, trained on tweets, does not learn that "really" makes a complaint more
    # urgent (both score about 0.8): the intensifier is an explanation, not a boost
    really = score_text("I'm really disappointed", "en")
    assert "frustration: disappointed (intensified)" in really.signals
    assert really.label == score_text("I'm disappointed", "en").label == "negative"


def test_provider_sentiment_is_used_as_given() -> None:
    score = from_provider(-0.8)
    assert score.urgency == pytest.approx(0.8) and score.label == "negative"
    assert score.source == "provider"
    assert from_provider(0.6).urgency == 0.0


def test_repeated_messages_while_waiting_never_calm_the_score() -> None:
    angry = score_text("Vergogna! Nessuno risponde!", "it")
    polite = score_text("Salve, attendo risposta", "it")
    combined = combine([angry, polite])
    assert combined.urgency >= (angry.urgency + polite.urgency) / 2
    assert combined.label == "negative"


def test_fold_strips_accents() -> None:
    assert fold("Perché PIÙ") == "perche piu"


def test_metrics_match_hand_computed_values() -> None:
    result = metrics(
        ["negative", "negative", "neutral", "positive"],
        ["negative", "neutral", "neutral", "positive"],
    )
    assert result.accuracy == 0.75
    assert result.recall["negative"] == 0.5 and result.precision["neutral"] == 0.5
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_ranking_and_calibration_metrics_match_hand_computed_values() -> None:
    scores = [0.9, 0.8, 0.7, 0.7, 0.2]
    truth = [True, False, True, False, False]
    # pairs (positive, negative): 0.9 beats all 3; 0.7 beats 0.8? no, ties 0.7 (half), beats 0.2
    assert roc_auc(scores, truth) == pytest.approx((3 + 1.5) / 6)
    assert recall_at_precision(scores, truth, 0.65) == 0.5  # only "≥ 0.9" is precise enough
    table = reliability(scores, truth, bins=2)
    assert [(b.count, b.observed) for b in table] == [(1, 0.0), (4, 0.5)]


@pytest.mark.parametrize(
    ("name", "accuracy", "negative_recall", "auc"),
    [
        # the lexicon was refined on it and the model is trained on it (3x weight)
        ("emotion_eval.csv", 0.95, 0.93, 0.97),
        # written afterwards, never tuned or trained on; before the model: accuracy 0.783,
        # negative recall 0.500, ROC AUC of urgency 0.738
        ("emotion_holdout.csv", 0.80, 0.60, 0.90),
    ],
)
def test_evaluation_sets_do_not_regress(
    name: str, accuracy: float, negative_recall: float, auc: float
) -> None:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = [score_text(row["text"], row["language"]) for row in rows]
    result = metrics([row["label"] for row in rows], [s.label for s in scores])
    assert result.accuracy >= accuracy
    assert result.recall["negative"] >= negative_recall
    negative = [row["label"] == "negative" for row in rows]
    assert roc_auc([s.urgency for s in scores], negative) >= auc
