"""The embedded mode's signing key file: made once, whole, whatever the number of processes that start at once."""
import multiprocessing

from django.conf import settings

from health.passes import keys


def _read_key(_index: int) -> bytes:
    return keys._embedded_pem()


def test_processes_starting_together_all_read_one_whole_key(tmp_path):
    # given eight processes started at once with no key file yet (gunicorn's workers load the key
    # when they start), several times over
    for attempt in range(5):
        settings.PASS_KEY_DIR = tmp_path / f"keys-{attempt}"
        with multiprocessing.get_context("fork").Pool(8) as pool:
            read = pool.map(_read_key, range(16))
        # then every one of them read the same complete key, and one file is left, readable by its owner only
        assert len(set(read)) == 1
        assert read[0].startswith(b"-----BEGIN") and read[0].rstrip().endswith(b"-----")
        files = list(settings.PASS_KEY_DIR.iterdir())
        assert [file.name for file in files] == [keys.SIGNING_FILE]
        assert files[0].stat().st_mode & 0o777 == 0o600
