"""qa.dateline.split_dateline: each dateline style, and sentence starts that are not datelines."""

from __future__ import annotations

import pytest

from qa.dateline import split_dateline


@pytest.mark.parametrize("paragraph, place, rest", [
    ("WASHINGTON — The Senate voted on Tuesday.", "WASHINGTON", "The Senate voted on Tuesday."),
    ("WASHINGTON - The Senate voted.", "WASHINGTON", "The Senate voted."),
    ("NEW YORK—Stocks fell.", "NEW YORK", "Stocks fell."),
    ("KYIV, Ukraine (AP) — Russian drones hit power plants.", "KYIV, Ukraine",
     "Russian drones hit power plants."),
    ("SOUTHWEST MIAMI-DADE, FLA. (WSVN) - An overnight crash", "SOUTHWEST MIAMI-DADE, FLA.",
     "An overnight crash"),
    ("NEW YORK (Reuters) - Stocks rose.", "NEW YORK", "Stocks rose."),
    ("BEIJING, Jan 5 (Reuters) - China said.", "BEIJING", "China said."),
    ("(Reuters) - Oil prices rose on Monday.", "", "Oil prices rose on Monday."),
    ("LONDON: The Bank of England held rates.", "LONDON", "The Bank of England held rates."),
    ("Washington, (APP - UrduPoint / Pakistan Point News - 31st Oct, 2024) The US and South Korea",
     "Washington", "The US and South Korea"),
    ("Washington, (Agency - 31st Oct, 2024) :The US said.", "Washington", "The US said."),
    ("ST. LOUIS — A man was arrested.", "ST. LOUIS", "A man was arrested."),
    ("  PARIS — Leading spaces are kept out.", "PARIS", "Leading spaces are kept out."),
    ("London (CNN)It was the interview that some had feared.", "London", "It was the interview that some "
     "had feared."),
])
def test_datelines(paragraph, place, rest):
    got_place, offset = split_dateline(paragraph)
    assert got_place == place
    assert offset > 0 and paragraph[offset:] == rest


@pytest.mark.parametrize("paragraph", [
    "WASHINGTON state lawmakers said on Monday that the bill would pass.",
    "U.S. officials said the talks would resume.",
    "NATO leaders met in Brussels.",
    "FBI: The bureau declined to comment.",
    "WASHINGTON-based groups said they would sue.",
    "Seoul (Yonhap)officials said the talks would resume.",
    "The U.S. — and its allies — disagreed.",
    "John Smith (R-Texas) said on Monday he would vote no.",
    "Mr. Smith: I think so.",
    "I — for one — agree.",
    "LONDON — a city of eight million",  # a dateline is followed by a sentence
    "",
])
def test_not_datelines(paragraph):
    assert split_dateline(paragraph) == ("", 0)
