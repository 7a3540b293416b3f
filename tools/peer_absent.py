"""pytest plugin for tools/peer_tests.py: measure which peer tests use only mirrored names.

    python tools/peer_tests.py pytorch3d test_cameras.py -- -p peer_absent   (with tools/ on PYTHONPATH)

A peer test file imports many names at module level; one name meshgraph does not mirror (FishEyeCameras,
TexturesVertex, ...) would fail the whole file at import. With this plugin, a `from meshgraph.compat.X import a, b`
in a test module that names something absent gets a stand-in for the missing names (and for missing modules)
instead of an ImportError. Using a stand-in in any way (calling it, reading an attribute, isinstance) raises
`AbsentPeerName`, and a test that raises it is reported as *skipped* with the reason "uses unmirrored name X".
Calling the peer's compiled `_C` (replaced by the harness's stub) counts the same way. So passed + failed + error
counts exactly the tests that use only mirrored names. meshgraph's own imports are
untouched (only importers outside the meshgraph package get stand-ins). With PEER_ABSENT_REPORT=path set, every
other failure appends "test id <TAB> first line of its exception" to that file.
"""

from __future__ import annotations

import builtins
import os
import importlib
import types

import pytest

_PREFIXES = ("meshgraph.compat", "meshgraph_peer_stub")


class AbsentPeerName(Exception):
    pass


class _AbsentMeta(type):
    def __call__(cls, *a, **k):
        raise AbsentPeerName(cls._peer_name)

    def __getattr__(cls, item):
        if item.startswith("__"):
            raise AttributeError(item)
        raise AbsentPeerName(cls._peer_name)

    def __instancecheck__(cls, obj):
        raise AbsentPeerName(cls._peer_name)

    def __subclasscheck__(cls, sub):
        raise AbsentPeerName(cls._peer_name)

    def __repr__(cls):
        return f"<absent {cls._peer_name}>"


def _absent(name: str):
    return _AbsentMeta(name.rsplit(".", 1)[-1], (), {"_peer_name": name})


class _Proxy(types.ModuleType):
    """A module view: the real module's attributes, stand-ins for the missing ones."""

    def __init__(self, name, real=None):
        super().__init__(name)
        self._real = real

    def __getattr__(self, item):
        if self._real is not None and hasattr(self._real, item):
            return getattr(self._real, item)
        if item.startswith("__"):
            raise AttributeError(item)
        return _absent(f"{self.__name__}.{item}")


_real_import = builtins.__import__


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {}).get("__name__", "") or ""
    if level or importer.startswith("meshgraph") or not name.startswith(_PREFIXES):
        return _real_import(name, globals, locals, fromlist, level)
    try:
        mod = _real_import(name, globals, locals, fromlist, level)
    except ImportError:
        if not fromlist:
            raise
        return _Proxy(name)
    if fromlist and any(not hasattr(mod, f) and f != "*" for f in fromlist):
        for f in fromlist:  # submodules are attributes once imported
            if not hasattr(mod, f):
                try:
                    importlib.import_module(f"{name}.{f}")
                except ImportError:
                    pass
        if any(not hasattr(mod, f) and f != "*" for f in fromlist):
            return _Proxy(name, mod)
    return mod


def pytest_configure(config):
    builtins.__import__ = _import


def pytest_collectstart(collector):
    """PEER_CPU_FOR_CUDA=1 (a diagnostic, never for reported counts): PyTorch3D's tests pick their device with
    common_testing.get_random_cuda_device(); return the CPU instead, so the semantics those tests check can be
    looked at on a machine without a GPU."""
    if os.environ.get("PEER_CPU_FOR_CUDA") == "1":
        import sys

        for name, mod in list(sys.modules.items()):
            if name.endswith("common_testing") and hasattr(mod, "get_random_cuda_device"):
                mod.get_random_cuda_device = lambda: "cpu"


def _absent_in(excinfo):
    e = excinfo.value if excinfo is not None else None
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, AbsentPeerName):
            return str(e)
        if isinstance(e, AttributeError) and "peer's compiled _C" in str(e):  # the test calls PyTorch3D's _C
            return "_C." + str(e).split("_C.", 1)[-1].split(" ", 1)[0]
        if isinstance(e, NotImplementedError) and "is not implemented in meshgraph.compat" in str(e):
            return str(e).split(" is not implemented", 1)[0]  # a --stub-missing placeholder was used
        e = e.__cause__ or e.__context__
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is not None and rep.failed:
        name = _absent_in(call.excinfo)
        if name is not None:
            rep.outcome = "skipped"
            rep.longrepr = (str(item.fspath), item.location[1] or 0, f"uses unmirrored name {name}")
        elif os.environ.get("PEER_ABSENT_REPORT"):  # one line per failure: test id and the exception's first line
            msg = call.excinfo.exconly().strip().splitlines()[0][:300]
            with open(os.environ["PEER_ABSENT_REPORT"], "a") as f:
                f.write(f"{item.nodeid}\t{msg}\n")
