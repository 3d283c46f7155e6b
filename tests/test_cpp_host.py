"""The C++ API through a host program: install mezan::core with CMake, build examples/cpp_host
against the installed package config, run it on a QAPLIB file."""

import re
import shutil
import subprocess

import pytest

from mezan.qap import instances, objective

from conftest import REPO

pytestmark = pytest.mark.slow


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_cpp_host_builds_against_the_installed_package_and_solves(tmp_path):
    # A build without optimisation or debug information (CMake's "None" type: no flags, so -O0, and NDEBUG unset):
    # what is tested is the installed package config and the C++ API, with the library's assertions on. It compiles
    # in 0.75x the CPU time of a Debug build (Eigen's templates without -g) and under half that of a Release one.
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    gen += ["-DCMAKE_BUILD_TYPE=None"]
    build, prefix, host = tmp_path / "build", tmp_path / "prefix", tmp_path / "host"
    # one translation unit (a unity build): Eigen's headers are parsed once, not in each of three sources
    run(["cmake", "-S", REPO, "-B", build, *gen, "-DCMAKE_UNITY_BUILD=ON", "-DMEZAN_BUILD_PYTHON=OFF",
         f"-DCMAKE_INSTALL_PREFIX={prefix}"])
    run(["cmake", "--build", build, "-j", "2"])
    run(["cmake", "--install", build, "--component", "dev"])
    assert (prefix / "lib" / "cmake" / "mezan" / "mezanConfig.cmake").exists()
    assert (prefix / "include" / "mezan" / "qap" / "tabu.hpp").exists()
    run(["cmake", "-S", REPO / "examples" / "cpp_host", "-B", host, *gen, f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["cmake", "--build", host])
    dat = instances.instance_path("nug12")
    out = run([host / "qap_host", dat, "1.0", "7"])
    header, perm_line = out.strip().splitlines()
    fields = dict(re.findall(r"(\w+)=(\S+)", header))
    perm = [int(x) for x in perm_line.split()]
    assert fields["n"] == "12" and sorted(perm) == list(range(12))
    assert int(fields["objective"]) == objective(instances.load("nug12"), None, perm)
    assert int(fields["objective"]) == 578  # nug12's optimum, reached well within a second
    assert float(fields["bound"]) == 493
    bad = tmp_path / "bad.dat"
    bad.write_text("2\n1 2 3\n")
    proc = subprocess.run([host / "qap_host", bad], capture_output=True, text=True)
    assert proc.returncode == 1 and "bad.dat:2: expected 2*n*n = 8 matrix values" in proc.stderr
