"""Model directories: the tiny test model, install/convert, self-verification at load, the CLI."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from models import cli as models_cli
from models import install as install_mod
from models.catalog import CATALOG, CatalogEntry
from models.loader import ModelError, file_checksums, open_model
from models.registry import installed_source_languages, model_for
from models.testmodel import GOLDEN, write_fake_opus_mt


def test_tiny_model_metadata_is_honest_and_complete(tiny_models_dir):
    meta = json.loads((tiny_models_dir / "tiny-test" / "metadata.json").read_text())
    assert meta["test_model"] is True and "NOT a translation" in meta["note"]
    assert meta["target_lang"] == "en" and meta["source_langs"] == ["ar", "fr"]
    assert meta["name"] == "tiny-test" and meta["version"]
    assert "OpusMTConverter" in meta["converted_from"] and meta["licence"]
    assert meta["files"] == file_checksums(str(tiny_models_dir / "tiny-test"))
    assert {"model.bin", "config.json", "source.spm", "target.spm"} <= set(meta["files"])
    # the copy model's golden output is its input: proves the conversion copied exactly
    assert meta["golden"] == {"source": GOLDEN, "lang": "", "expected": GOLDEN}
    config = json.loads((tiny_models_dir / "tiny-test" / "config.json").read_text())
    assert config["add_source_eos"] is True  # what the real OPUS-MT converter writes


def test_registry_finds_the_multilingual_test_model(tiny_models_dir):
    assert installed_source_languages(str(tiny_models_dir)) == {"ar", "fr"}
    assert model_for(str(tiny_models_dir), "ar")["name"] == "tiny-test"
    assert model_for(str(tiny_models_dir), "de") is None


ROUND_TRIP = [
    "Le 14 juillet 2024, 3,5 % des électeurs ont voté : « non » !",
    "snake_case_variable et user_id=42 (AFP) a__b ___ _x_",
    "قال الرئيس إن ٣ أشخاص أصيبوا، فهل سيعودون؟",
    "مُحَمَّد ـــ € — 🙂 1234567890 !?;:",  # unseen characters: byte_fallback keeps them
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_sentencepiece_round_trip_through_the_copy_model(tiny_models_dir, text):
    model = open_model(str(tiny_models_dir / "tiny-test"))
    pieces = model.encode(text)
    assert model.sp_source.decode(pieces) == text
    assert model.translate_text(text) == text
    assert model.translate_text(text, beam_size=4) == text


@pytest.fixture()
def model_copy(tiny_models_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(tiny_models_dir / "tiny-test", dst)
    return dst


def test_corrupted_file_fails_the_checksum_check(model_copy):
    with open(model_copy / "model.bin", "r+b") as fh:
        fh.seek(-10, os.SEEK_END)
        fh.write(b"\x01" * 10)
    with pytest.raises(ModelError, match="checksum.*model.bin"):
        open_model(str(model_copy))


def test_wrong_golden_output_fails_the_load(model_copy):
    meta = json.loads((model_copy / "metadata.json").read_text())
    meta["golden"]["expected"] = "something else"
    (model_copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="golden check"):
        open_model(str(model_copy))


def test_convert_command_installs_an_opus_mt_directory(tmp_path, capsys):
    src = tmp_path / "opus-mt-xx-en"
    work = tmp_path / "work"
    work.mkdir()
    write_fake_opus_mt(str(src), str(work))
    models_dir = tmp_path / "models"
    rc = models_cli.run(["convert", str(src), "--name", "my-fr", "--source_langs", "fr",
                         "--models_dir", str(models_dir)])
    assert rc == 0, capsys.readouterr().err
    meta = json.loads((models_dir / "my-fr" / "metadata.json").read_text())
    assert meta["source_langs"] == ["fr"] and meta["quantization"] == "int8"
    assert meta["test_model"] is False
    model = open_model(str(models_dir / "my-fr"))  # verifies checksums and golden
    assert model.translate_text("Le 3 mai.") == "Le 3 mai."
    assert not (models_dir / "my-fr.partial").exists()


def test_convert_of_a_directory_that_is_not_opus_mt_is_one_line(tmp_path, capsys):
    rc = models_cli.run(["convert", str(tmp_path), "--name", "x", "--source_langs", "fr",
                         "--models_dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert rc == 1 and "not an OPUS-MT model directory" in err and "Traceback" not in err


def test_install_offline_fails_with_one_clear_line(tmp_path, monkeypatch, capsys):
    # An address that refuses connections stands for "offline" whether or not this machine is.
    entry = CATALOG["opus-mt-fr-en"]
    fake = CatalogEntry(**{**entry.__dict__, "url": "http://127.0.0.1:9/opus-mt-fr-en.zip"})
    monkeypatch.setitem(CATALOG, "opus-mt-fr-en", fake)
    rc = models_cli.run(["install", "opus-mt-fr-en", "--models_dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1 and "cannot download" in err and "models convert" in err
    assert not (tmp_path / "opus-mt-fr-en").exists()


def test_install_tiny_test_and_list(tmp_path, capsys):
    assert models_cli.run(["install", "tiny-test", "--models_dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert models_cli.run(["--models_dir", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-test" in out.split("catalog")[0] and "TEST MODEL" in out
    for name in ("opus-mt-ar-en", "opus-mt-fr-en", "nllb-200-distilled-600M"):
        assert name in out


def test_nllb_install_without_torch_says_which_extra(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *a, **k):
        if name in ("torch", "transformers"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(install_mod.InstallError, match=r"newsnorm\[convert\]"):
        install_mod.install("nllb-200-distilled-600M", str(tmp_path))
