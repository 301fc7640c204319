from __future__ import annotations

from medmine.demo import SAMPLES_ENV, samples_dir


def test_bundled_samples_are_found_without_configuration(monkeypatch):
    monkeypatch.delenv(SAMPLES_ENV, raising=False)
    d = samples_dir()
    assert (d / "synthea_fhir").is_dir()
    assert (d / "consent.csv").is_file()


def test_samples_folder_can_be_set_for_installed_copies(monkeypatch, tmp_path):
    monkeypatch.setenv(SAMPLES_ENV, str(tmp_path))
    assert samples_dir() == tmp_path
