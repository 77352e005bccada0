"""Progress bars: widgets live, plain text in headless runs (the pipeline sets STARLIB_PROGRESS=text)."""

import os

from tqdm.std import tqdm as text_tqdm

from starlib.util.progress import ENV, progress_bar, text_mode, text_progress


def test_headless_bars_are_plain_text_and_the_setting_is_restored(monkeypatch, capsys):
    monkeypatch.delenv(ENV, raising=False)
    assert not text_mode()
    with text_progress():
        assert os.environ[ENV] == "text" and text_mode()
        bar = progress_bar(range(3), desc="x")
        assert type(bar) is text_tqdm and bar.ascii
        assert list(bar) == [0, 1, 2]
    assert ENV not in os.environ
    assert "3/3" in capsys.readouterr().err                      # the final state is in the stream
    monkeypatch.setenv(ENV, "widget")
    with text_progress():
        pass
    assert os.environ[ENV] == "widget"
