"""Sentence splitting: whole sentences on real news text, exact offsets on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from qa.articles import read_file
from qa.normalize import normalize_text
from qa.sentences import MAX_SENTENCE_CHARS, split_sentences
from tests.conftest import SEED

SEED_SENTENCES = [
    ("The US and South Korean defense chiefs", "for possible action against Ukrainian forces."),
    ("Russia and North Korea have deepened", "has sparked widespread international concern."),
    ("These North Korean troops -- wearing", "said Ukraine's UN ambassador Sergiy Kyslytsya."),
    ('"I call upon them to withdraw', "Kim Yong-hyun, who stood beside him."),
    ('Austin said the United States will "continue', 'from employing these troops in combat."'),
    ('But there is a "good likelihood"', "outfitted with Russian uniforms and weapons."),
    ("Kim, speaking through a translator,", 'the security threats on the Korean peninsula."'),
    ('That is because there is a "high chance"', "in exchange for the deployment of its forces, he said."),
    ("But he did not announce a change", "calls from Washington and Kyiv to reconsider."),
]


def _texts(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences("a", text)]


def test_every_seed_sentence_comes_out_whole_with_its_closing_quote():
    (article,) = read_file(SEED, SEED.parent, 10**7)
    got = _texts(article.text)
    assert len(got) == len(SEED_SENTENCES)
    for sentence, (start, end) in zip(got, SEED_SENTENCES, strict=True):
        assert sentence.startswith(start) and sentence.endswith(end), sentence


def test_news_abbreviations_and_quotes():
    text = ('The U.S. Army said on Oct. 31 that Gen. Smith, of Washington, D.C., would lead. '
            'Mr. Kim said "no." He left at 5 p.m. on Friday. Sales rose 3.5% in the U.K. last year. '
            '"Will they go?" she asked. They did.')
    assert _texts(text) == [
        "The U.S. Army said on Oct. 31 that Gen. Smith, of Washington, D.C., would lead.",
        'Mr. Kim said "no."', "He left at 5 p.m. on Friday.", "Sales rose 3.5% in the U.K. last year.",
        '"Will they go?" she asked.', "They did."]


def test_paragraph_break_ends_a_sentence_even_without_punctuation():
    assert _texts("A headline without a period\n\nThe body starts here.") == [
        "A headline without a period", "The body starts here."]


def test_ordinals_and_hashes():
    sentences = split_sentences("art", "One thing. Another thing. One thing.")
    assert [s.ordinal for s in sentences] == [0, 1, 2]
    assert sentences[0].content_hash == sentences[2].content_hash != sentences[1].content_hash
    assert {s.article_id for s in sentences} == {"art"}


def test_a_long_run_without_punctuation_is_cut_at_spaces():
    text = "word " * 2000
    spans = split_sentences("a", text.strip())
    assert len(spans) > 1 and all(s.end - s.start <= MAX_SENTENCE_CHARS for s in spans)
    assert all(text[s.start:s.end].split() == ["word"] * len(text[s.start:s.end].split()) for s in spans)


def _check_offsets(text: str) -> None:
    sentences = split_sentences("a", text)
    previous_end = 0
    for s in sentences:
        assert previous_end <= s.start < s.end <= len(text)
        assert text[previous_end:s.start].strip() == ""  # only whitespace between sentences
        assert text[s.start:s.end] == text[s.start:s.end].strip()
        previous_end = s.end
    assert text[previous_end:].strip() == ""
    # nothing lost, nothing duplicated
    assert "".join("".join(text[s.start:s.end].split()) for s in sentences) == "".join(text.split())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_offsets_exact_on_any_text(text):
    _check_offsets(text)
    _check_offsets(normalize_text(text))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["U.S.", "Mr.", "said", '"Yes."', "3.5%", "\u202eRTL", "🙂", "...",
                                 "?", "!", "\n", "\n\n", "  ", "Oct.", "(AP)", "--", "é", "\x00"]),
                max_size=80))
def test_offsets_exact_on_news_like_tokens(parts):
    _check_offsets(" ".join(parts))


ABBREVIATION_CASES = [
    # titles never end a sentence
    ("Rep. Adam Smith, D-Wash., said the vote would come. Sen. Jones disagreed.",
     ["Rep. Adam Smith, D-Wash., said the vote would come.", "Sen. Jones disagreed."]),
    ("Lt. Gov. Eleni Kounalakis signed it. Gov. Gavin Newsom was away.",
     ["Lt. Gov. Eleni Kounalakis signed it.", "Gov. Gavin Newsom was away."]),
    ("Sgt. Maria Lopez and Col. Ray Burns arrived. Capt. Lee stayed.",
     ["Sgt. Maria Lopez and Col. Ray Burns arrived.", "Capt. Lee stayed."]),
    ("Rev. Al Sharpton spoke at St. Paul's Cathedral on Sunday.",
     ["Rev. Al Sharpton spoke at St. Paul's Cathedral on Sunday."]),
    ("Dr. Anthony Fauci, Prof. Jane Doe and Mrs. Roe met Ms. Kim.",
     ["Dr. Anthony Fauci, Prof. Jane Doe and Mrs. Roe met Ms. Kim."]),
    # months before a number or a name
    ("The attacks of Sept. 11 changed that. On Jan. 6 a mob stormed the Capitol.",
     ["The attacks of Sept. 11 changed that.", "On Jan. 6 a mob stormed the Capitol."]),
    ("It was signed in Sept. The next year it failed.",
     ["It was signed in Sept.", "The next year it failed."]),
    # No., vs., e.g., i.e.
    ("The No. 2 official, at No. 10 Downing Street, quit.",
     ["The No. 2 official, at No. 10 Downing Street, quit."]),
    ("It is Smith vs. Jones in the final. Fruits, e.g. apples, are cheap; i.e. the price fell.",
     ["It is Smith vs. Jones in the final.", "Fruits, e.g. apples, are cheap; i.e. the price fell."]),
    # clause-final abbreviations end a sentence before a capital, not before a small letter or digit
    ("He arrived in the U.S. The next day he left.", ["He arrived in the U.S.", "The next day he left."]),
    ("Shares of Apple Inc. fell 3% on Monday.", ["Shares of Apple Inc. fell 3% on Monday."]),
    ("Shares of Apple Inc. The company declined to comment.",
     ["Shares of Apple Inc.", "The company declined to comment."]),
    ("The meeting ended at 5 p.m. on Friday. Martin Luther King Jr. spoke first.",
     ["The meeting ended at 5 p.m. on Friday.", "Martin Luther King Jr. spoke first."]),
    ("The U.N. Security Council met. The U.K. government abstained.",
     ["The U.N. Security Council met.", "The U.K. government abstained."]),
]


def test_abbreviations_do_not_end_sentences():
    for text, expected in ABBREVIATION_CASES:
        assert _texts(text) == expected, text
        _check_offsets(text)
