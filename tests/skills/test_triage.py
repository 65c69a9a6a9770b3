"""What triage reads of a long message: its beginning and its end, and it says so."""

from __future__ import annotations

from router.rules.loader import load_rules
from skills.language import LanguageDetector
from skills.triage import READ_HEAD, READ_TAIL, Triager, readable_part
from tests.paths import REPO

TRIAGER = Triager(load_rules(REPO / "config.yaml").config)
FILLER = "Vi scrivo in merito alla pratica indicata in oggetto e ai documenti allegati. "


def letter(opening: str, closing: str, length: int) -> str:
    middle = FILLER * (length // len(FILLER) + 1)
    return (opening + middle)[: length - len(closing)] + closing


def test_a_short_message_is_read_whole() -> None:
    text = "x" * (READ_HEAD + READ_TAIL)
    assert readable_part(text) == text


def test_a_long_message_is_read_at_its_beginning_and_its_end() -> None:
    text = letter("Buongiorno, ", " Se non risolvete mi rivolgo a un avvocato.", 20_000)
    read = readable_part(text)
    head, _, tail = read.partition("\n.\n")
    assert text.startswith(head) and READ_HEAD - 20 < len(head) <= READ_HEAD
    assert text.endswith(tail) and READ_TAIL - 20 < len(tail) <= READ_TAIL
    assert not head[-1].isspace() and text[len(head)].isspace()  # no word cut in two
    assert not tail[0].isspace() and text[-len(tail) - 1].isspace()
    result = TRIAGER.triage(text=text, language="it")
    assert "legal" in " ".join(result.emotion.signals)  # the threat at its end counts
    assert result.urgency >= 0.7
    note = "read the first 2,000 and last 500 of 20,000 characters"
    alone = TRIAGER.triage(text=read, language="it").emotion
    assert result.emotion.urgency == alone.urgency
    assert result.emotion.signals == (*alone.signals, note)


def test_no_phrase_spans_the_cut_and_no_piece_of_a_word_counts() -> None:
    head = "y " * 997 + " carta"  # "carta" ends the first READ_HEAD characters
    tail = " persa" + " w" * 247  # "persa" begins the last READ_TAIL
    spanning = head + " " + "z" * 700 + tail
    assert len(head) == READ_HEAD and len(tail) == READ_TAIL
    assert TRIAGER.triage(text=spanning, language="it").intent == "cards"  # "carta" alone
    assert TRIAGER.triage(text=head + tail, language="it").intent == "lost_card"
    piece = "avvocato" + (" bene" * 100)[: READ_TAIL - 8]  # "contr|avvocato" at the cut
    cut = "x " * 1300 + "contr" + piece
    assert cut.endswith(piece) and len(piece) == READ_TAIL
    assert "legal" not in " ".join(TRIAGER.triage(text=cut, language="it").emotion.signals)
    whole = "x " * 1300 + " " + piece
    assert "legal" in " ".join(TRIAGER.triage(text=whole, language="it").emotion.signals)


def test_white_space_around_a_message_is_not_read() -> None:
    text = " " * 3000 + "Mi hanno rubato la carta, aiuto!" + "\n" * 3000
    result = TRIAGER.triage(text=text)
    assert (result.language, result.language_source) == ("it", "detected")
    assert result.intent == "lost_card"
    assert not any(s.startswith("read the first") for s in result.emotion.signals)


def test_what_lies_between_does_not_change_the_emotion() -> None:
    calm = letter("Buongiorno, ", " Cordiali saluti.", 20_000)
    angry_middle = calm[:10_000] + " SONO FURIOSO, VERGOGNA!!! " + calm[10_000:]
    first = TRIAGER.triage(text=calm, language="it").emotion
    second = TRIAGER.triage(text=angry_middle, language="it").emotion
    assert first.urgency == second.urgency and first.label == second.label


def test_the_language_of_a_long_message_is_read_from_its_beginning() -> None:
    text = letter("Buongiorno, ", " Thank you, best regards.", 20_000)
    result = TRIAGER.triage(text=text)
    assert (result.language, result.language_source) == ("it", "detected")


def test_intent_keywords_are_read_where_the_emotion_is() -> None:
    closing = letter("Buongiorno, ", " Inoltre mi hanno rubato la carta.", 20_000)
    assert TRIAGER.triage(text=closing, language="it").intent == "lost_card"
    subject = TRIAGER.triage(text=closing, subject="Carta rubata", language="it")
    assert subject.intent == "lost_card"
    middle = closing[:10_000] + " Ho perso la carta. " + closing[10_000:-40]
    assert TRIAGER.triage(text=middle, language="it").intent is None


def test_one_reading_gives_the_language_with_and_without_a_hint() -> None:
    detector = LanguageDetector(("it", "en"))
    assert detector.readings("Mi hanno rubato la carta", "en-US") == ("it", "it")
    assert detector.readings("ok", "en-US") == (detector.detect("ok"), "en")
    assert detector.readings("   ", "it") == (None, "it")
