"""A recipe path that exists but is no file (/dev/null, a FIFO) or a symlink to nothing is named as what it is, by
every reader of recipes (the scripts' loader, ``xstilts validate``, ``xstilts check-hub``): "does not exist" sent the
user looking for a typo, "is a folder" was wrong."""
from __future__ import annotations

import os

import pytest

from xstilts import command, hubcheck, recipe


@pytest.fixture(params=["devnull", "fifo", "dangling"])
def odd(request, tmp_path):
    if request.param == "devnull":
        return os.devnull, "not a regular file"
    if request.param == "fifo":
        os.mkfifo(tmp_path / "r.yaml")  # never opened: reading it would block
        return str(tmp_path / "r.yaml"), "not a regular file"
    os.symlink(tmp_path / "missing.yaml", tmp_path / "r.yaml")
    return str(tmp_path / "r.yaml"), "a symlink to a missing file"


def test_every_recipe_reader_names_an_odd_path_as_what_it_is(odd, capsys):
    path, what = odd
    with pytest.raises(recipe.RecipeError, match=what):
        recipe.read_yaml(path)
    assert command.main(["validate", "phase3", path]) == 2
    assert what in capsys.readouterr().err
    assert hubcheck.main([path]) == 2
    err = capsys.readouterr().err
    assert what in err and "does not exist" not in err
