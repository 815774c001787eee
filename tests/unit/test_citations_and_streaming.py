import itertools

from ragchat.chat.citations import CitationFilter
from ragchat.chat.streaming import DeltaCoalescer


def run(filter_: CitationFilter, pieces: list[str]) -> str:
    return "".join(filter_.feed(p) for p in pieces) + filter_.flush()


def test_citation_filter_passes_valid_markers_split_across_pieces():
    f = CitationFilter({1, 2})
    assert run(f, ["Deploy with SAM [", "1", "] and check [2", "]."]) == "Deploy with SAM [1] and check [2]."
    assert f.cited == [1, 2]


def test_citation_filter_drops_markers_to_sources_not_retrieved():
    f = CitationFilter({1})
    assert run(f, ["Claim [7]. Other [1, 9]. Again [1]."]) == "Claim . Other [1]. Again [1]."
    assert f.cited == [1]


def test_citation_filter_holds_back_only_an_open_marker():
    f = CitationFilter({1})
    assert f.feed("text [") == "text "
    assert f.feed("1") == ""
    assert f.feed("] more") == "[1] more"


def test_citation_filter_leaves_other_brackets_alone():
    f = CitationFilter({1})
    text = "see [the docs](x) and [a-b] and arr[0] [note]"
    assert run(f, [text[:-5], text[-5:]]) == text


def test_citation_filter_flushes_an_unclosed_bracket_as_text():
    f = CitationFilter({1})
    assert run(f, ["value [12"]) == "value [12"


class Clock:
    def __init__(self):
        self.now = 0.0
        self.emitted_at: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds

    def recorder(self, out):
        def emit(text):
            self.emitted_at.append(self.now)
            out.append(text)
        return emit


def gaps(times):
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def test_coalescer_emits_first_piece_at_once_then_at_most_once_per_interval():
    clock, out = Clock(), []
    c = DeltaCoalescer(clock.recorder(out), interval=0.05, clock=clock, sleep=clock.sleep)
    for i in range(100):  # 100 tokens over 99 ms
        c.write(f"t{i} ")
        clock.now += 0.001
    c.close()
    assert out[0] == "t0 "
    assert clock.emitted_at[0] == 0.0
    assert len(out) == 3  # at 0 ms, at 50 ms, and the rest on close, at once
    assert gaps(clock.emitted_at)[0] >= 0.05 and clock.emitted_at[-1] == clock.now
    assert "".join(out) == "".join(f"t{i} " for i in range(100))


def test_coalescer_final_flush_goes_at_once_after_a_burst():
    """The end frame follows the last delta at once anyway: waiting before it only delays the end."""
    clock, out = Clock(), []
    c = DeltaCoalescer(clock.recorder(out), interval=0.05, clock=clock, sleep=clock.sleep)
    for _i in range(500):  # a generator that emits everything at once
        c.write("tok ")
    c.close()
    assert len(out) == 2 and gaps(clock.emitted_at) == [0.0] and "".join(out) == "tok " * 500


def test_coalescer_cuts_text_longer_than_a_frame_and_spaces_the_pieces():
    clock, out = Clock(), []
    c = DeltaCoalescer(clock.recorder(out), max_chars=10, clock=clock, sleep=clock.sleep)
    c.write("x" * 25)
    assert out == ["x" * 10, "x" * 10, "x" * 5]
    assert all(gap >= 0.05 for gap in gaps(clock.emitted_at))


def test_coalescer_ignores_empty_text_and_closes_cleanly():
    out = []
    c = DeltaCoalescer(out.append, clock=Clock())
    c.write("")
    c.close()
    assert out == []
