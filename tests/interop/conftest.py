"""Harness of `make interop-test`: the integration tests' harness (tests/integration/conftest.py:
private PostgreSQL, sanitizer-built services that must stop cleanly) plus real MTAs in
containers (peers.py). Loaded under its own name so that `from conftest import ...` in the
integration helpers finds the same names here."""
import importlib.util
import pathlib
import sys

_ITEST = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(_ITEST))
_spec = importlib.util.spec_from_file_location("clement_itest_conftest", _ITEST / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
sys.modules["clement_itest_conftest"] = _mod
_spec.loader.exec_module(_mod)
globals().update({k: v for k, v in vars(_mod).items() if not k.startswith("__")})
