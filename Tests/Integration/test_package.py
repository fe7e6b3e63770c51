"""The Debian package with real dpkg and apt, in a throwaway Debian root
(debootstrap, cached between runs on the same machine, keyed by its package
list): install v1 from a file-based apt repository, edit the configuration,
upgrade to v2 (conffile and state kept), an upgrade the configuration no
longer passes (service left alone, clear message), remove and purge."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

INCLUDE = "libmodbus5,libmosquitto1,libsocketcan2,libedit2,libyaml-0-2,libssl3,adduser,passwd"
CACHE = Path(os.environ.get("RAILGATE_TEST_CACHE", "/var/cache/railgate-test"))
# The static release binary scripts/package-deb builds (its build folder: scripts/lib/scratch).
STATIC = ROOT / subprocess.run([ROOT / "scripts" / "lib" / "scratch", "static"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip() / "release" / "railgate"


def sh(*args, check=True, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def debian_root(tmp_path):
    """A fresh copy of the cached bookworm minbase root."""
    key = hashlib.sha256(INCLUDE.encode()).hexdigest()[:12]
    cached = CACHE / f"bookworm-minbase-{key}"
    if not (cached / "usr" / "bin" / "apt-get").exists():
        if shutil.which("debootstrap") is None:
            sh("apt-get", "install", "-y", "-qq", "debootstrap", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        shutil.rmtree(cached, ignore_errors=True)
        CACHE.mkdir(parents=True, exist_ok=True)
        mirror = sh(ROOT / "scripts" / "lib" / "debian-mirror").stdout.strip()
        assert mirror, "apt has no bookworm source to debootstrap from (run apt-get update)"
        sh("debootstrap", "--variant=minbase", f"--include={INCLUDE}", "bookworm", cached, mirror, timeout=900)
    root = tmp_path / "root"
    sh("cp", "-a", cached, root)
    return root


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    """Packages 0.0.9, 0.1.0 and 0.1.0+rebuild1 of the release binary. The binary is built once (a release
    build takes minutes; an up-to-date one is only checked), so every package's binary reports 0.1.0, the
    version of the source tree."""
    out = tmp_path_factory.mktemp("dist")
    # The tree's own package (0.1.0), as released (xz): for lintian and the contents checks.
    debs = {"0.1.0": Path(sh(ROOT / "scripts" / "package-deb", "--out", out, timeout=1800).stdout.strip())}
    assert debs["0.1.0"].name.startswith("railgate_0.1.0_"), debs
    # The others only need to install: compressed fast.
    fast = {**os.environ, "DPKG_DEB_COMPRESSOR_TYPE": "gzip", "DPKG_DEB_COMPRESSOR_LEVEL": "1"}
    for version in ["0.0.9", "0.1.0+rebuild1"]:
        debs[version] = Path(sh(ROOT / "scripts" / "package-deb", "--binary", STATIC, "--version", version,
                                "--out", out, env=fast).stdout.strip())
    return out, debs


def apt(root, *args, check=True):
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return sh("chroot", root, "apt-get", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef",
              "-o", "Dpkg::Options::=--force-confold", *args, env=env, check=check)


@pytest.fixture
def root(tmp_path):
    """The throwaway root, with /proc mounted (the Swift runtime reads its arguments there)."""
    path = debian_root(tmp_path)
    sh("mount", "-t", "proc", "proc", path / "proc")
    try:
        yield path
    finally:
        sh("umount", "-l", path / "proc", check=False)


def test_install_edit_upgrade_remove_purge(root, packages):
    out, debs = packages
    repo = root / "srv" / "repo"
    repo.mkdir(parents=True)
    for deb in debs.values():
        shutil.copy(deb, repo)
    index = sh("dpkg-scanpackages", "--multiversion", ".", "/dev/null", cwd=repo).stdout
    (repo / "Packages").write_text(index)
    (root / "etc" / "apt" / "sources.list.d" / "railgate.list").write_text("deb [trusted=yes] file:/srv/repo ./\n")
    # Only the local repository: everything else the package needs is in the root already.
    (root / "etc" / "apt" / "sources.list").write_text("")
    apt(root, "update")

    apt(root, "install", "railgate=0.0.9")
    assert "0.0.9" in sh("chroot", root, "dpkg-query", "-W", "railgate").stdout
    config = root / "etc" / "railgate" / "railgate.yaml"
    assert "id: railgate-gw" in config.read_text()
    assert sh("chroot", root, "getent", "passwd", "railgate").stdout.startswith("railgate:")
    assert "dialout" in sh("chroot", root, "id", "-nG", "railgate").stdout
    assert (root / "var" / "lib" / "railgate" / "journal").is_dir()
    assert sh("chroot", root, "railgate", "check", "--config", "/etc/railgate/railgate.yaml").returncode == 0

    # The operator edits the configuration (in the schema 1 style an older release wrote); the gateway has state on disk.
    edited = config.read_text().replace("id: railgate-gw", "id: press-line-7").replace("schema: 3\n", "")
    config.write_text(edited.replace("    port: 502\n", "    port: 502\n    timeout_ms: 2000\n"))
    (root / "var" / "lib" / "railgate" / "journal" / "segment-000001.rgj").write_bytes(b"RGJ1 kept across upgrades")

    upgrade = apt(root, "install", "--only-upgrade", "railgate=0.1.0")
    assert "\t0.1.0\n" in sh("chroot", root, "dpkg-query", "-W", "railgate").stdout
    assert "id: press-line-7" in config.read_text(), upgrade.stdout
    assert (root / "var" / "lib" / "railgate" / "journal" / "segment-000001.rgj").read_bytes() == b"RGJ1 kept across upgrades"
    assert sh("chroot", root, "railgate", "version").stdout.strip() == "railgate 0.1.0"
    # The new release reads the older schema and says what it changed.
    check = sh("chroot", root, "railgate", "check", "--config", "/etc/railgate/railgate.yaml").stdout
    assert "schema 1 → 3: read with these changes" in check and "timeout_ms is now south[0].response_timeout_ms" in check, check

    # A configuration the new version rejects: the package installs, the service is left alone, the reason is shown.
    config.write_text(config.read_text().replace("type: float32", "type: flaot32"))
    bad = apt(root, "install", "--only-upgrade", "railgate=0.1.0+rebuild1")
    said = bad.stdout + bad.stderr
    assert 'unknown type "flaot32"' in said and "the service was NOT restarted" in said, said
    assert "ii  railgate" in sh("chroot", root, "dpkg", "-l", "railgate").stdout

    apt(root, "remove", "railgate")
    assert (root / "var" / "lib" / "railgate" / "journal" / "segment-000001.rgj").exists()
    assert config.exists()  # a conffile stays until purge
    apt(root, "purge", "railgate")
    assert not (root / "var" / "lib" / "railgate").exists() and not config.exists()


def test_package_contents(packages):
    out, debs = packages
    deb = debs["0.1.0"]
    info = sh("dpkg-deb", "--info", deb).stdout
    assert "Package: railgate" in info and "Version: 0.1.0" in info
    for dependency in ["libmodbus5", "libmosquitto1", "libedit2", "libyaml-0-2", "adduser"]:
        assert dependency in info, info
    conffiles = sh("sh", "-c", f"dpkg-deb --ctrl-tarfile {deb} | tar -xO ./conffiles").stdout
    assert conffiles.strip() == "/etc/railgate/railgate.yaml"
    files = sh("dpkg-deb", "--contents", deb).stdout
    for path in ["./usr/bin/railgate", "./lib/systemd/system/railgate.service", "./usr/lib/sysusers.d/railgate.conf",
                 "./usr/lib/tmpfiles.d/railgate.conf", "./lib/udev/rules.d/60-railgate-rs485.rules",
                 "./usr/share/railgate/gsd/RG_IO.gsd", "./usr/share/doc/railgate/copyright",
                 "./usr/libexec/railgate/console-shell"]:
        assert path in files, path
    for script in ["postinst", "prerm", "postrm"]:
        sh("sh", "-n", ROOT / "packaging" / "debian" / script)


def assert_lintian_finds_no_errors(deb):
    result = sh("lintian", "--tag-display-limit", "0", deb, check=False)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert not errors, result.stdout


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed")
def test_lintian_finds_no_errors(packages):
    out, debs = packages
    assert_lintian_finds_no_errors(debs["0.1.0"])


# The arm64 package: the cross-built binary (scripts/cross, cached), for Debian 13 arm64.
@pytest.fixture(scope="module")
def arm64_package(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist-arm64")
    return Path(sh(ROOT / "scripts" / "package-deb", "--arch", "arm64", "--out", out, timeout=1800).stdout.strip())


def test_arm64_package_contents_and_depends(arm64_package):
    info = sh("dpkg-deb", "--info", arm64_package).stdout
    assert "Architecture: arm64" in info, info
    depends = next(line for line in info.splitlines() if line.strip().startswith("Depends:"))
    # Debian 13's packages of the libraries the binary links, with the versions their shlibs ask for.
    for dependency in ["libc6 (>= ", "libmodbus5 (>= ", "libmosquitto1 (>= ", "libsocketcan2 (>= ", "libedit2 (>= ",
                       "libyaml-0-2 (>= ",
                       "adduser"]:
        assert dependency in depends, depends
    files = sh("dpkg-deb", "--contents", arm64_package).stdout
    for path in ["./usr/bin/railgate", "./lib/systemd/system/railgate.service", "./usr/share/railgate/dbc/RG_MACHINE.dbc"]:
        assert path in files, path
    tree = arm64_package.parent / "tree"
    sh("dpkg-deb", "-x", arm64_package, tree)
    header = sh("readelf", "-h", tree / "usr" / "bin" / "railgate").stdout
    assert "AArch64" in header, header
    # Stripped, and only C libraries shared: the Swift runtime is linked in.
    dynamic = sh("readelf", "-d", tree / "usr" / "bin" / "railgate").stdout
    assert "libswiftCore" not in dynamic and "libFoundation" not in dynamic, dynamic
    assert ".symtab" not in sh("readelf", "-S", tree / "usr" / "bin" / "railgate").stdout


@pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian is not installed")
def test_arm64_package_lintian_finds_no_errors(arm64_package):
    assert_lintian_finds_no_errors(arm64_package)


def test_a_foreign_binary_is_refused_with_its_architecture(packages, tmp_path):
    result = sh(ROOT / "scripts" / "package-deb", "--arch", "arm64", "--binary", STATIC, "--out", tmp_path, check=False)
    assert result.returncode != 0
    assert "is not an arm64 executable (Advanced Micro Devices X86-64)" in result.stderr, result.stderr


def test_arm64_without_the_cross_root_names_the_command_that_makes_it(tmp_path):
    env = {**os.environ, "RAILGATE_CROSS_CACHE": str(tmp_path / "empty-cache")}
    for command in (["package-deb", "--arch", "arm64", "--out", tmp_path], ["image", "--arch", "arm64", "--out", tmp_path]):
        result = sh(ROOT / "scripts" / command[0], *command[1:], check=False, env=env)
        assert result.returncode == 3, (command, result.returncode, result.stderr)
        assert "no arm64 cross root on this machine" in result.stderr, result.stderr
        assert "scripts/cross --arch arm64 --sdk" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stderr.count("\n") <= 3, result.stderr


def copied_cross_cache(tmp_path):
    """A copy of the cached cross root and SDK made of hard links: unlink a file in it, never write one."""
    cache = Path(os.environ.get("RAILGATE_CROSS_CACHE", "/var/cache/railgate-cross"))
    bundle = Path(sh(ROOT / "scripts" / "cross", "--arch", "arm64", "--sdk", "--reuse-root").stdout.strip())
    copy = tmp_path / "cache"
    copy.mkdir()
    for piece in cache.iterdir():
        if piece.name.startswith(("toolchain-", "sdk-arm64-")) and not piece.name.endswith(".building"):
            sh("cp", "-al", piece, copy / piece.name)
    return copy, copy / bundle.relative_to(cache) / "aarch64-unknown-linux-gnu"


def test_a_library_missing_from_the_arm64_sysroot_names_its_package(tmp_path):
    copy, sdk = copied_cross_cache(tmp_path)
    (sdk / "sysroot" / "usr" / "lib" / "aarch64-linux-gnu" / "pkgconfig" / "libmodbus.pc").unlink()
    result = sh(ROOT / "scripts" / "cross", "--arch", "arm64", "--reuse-root", check=False,
                env={**os.environ, "RAILGATE_CROSS_CACHE": str(copy)})
    assert result.returncode == 1, result.stderr
    assert "package libmodbus-dev:arm64 is missing from it" in result.stderr, result.stderr
    assert "libmodbus.pc" in result.stderr


def test_a_library_no_sysroot_package_provides_is_named(tmp_path, arm64_package):
    """The SDK's shlibs without libmodbus's line: the package is refused, naming the library."""
    copy, sdk = copied_cross_cache(tmp_path)
    shlibs = sdk / "debian" / "shlibs"
    kept = [line for line in shlibs.read_text().splitlines() if not line.startswith("libmodbus ")]
    shlibs.unlink()  # a hard link to the cached file: replaced, not written through
    shlibs.write_text("\n".join(kept) + "\n")
    tree = tmp_path / "tree"
    sh("dpkg-deb", "-x", arm64_package, tree)
    result = sh(ROOT / "scripts" / "package-deb", "--arch", "arm64", "--binary", tree / "usr" / "bin" / "railgate",
                "--out", tmp_path / "out", check=False, env={**os.environ, "RAILGATE_CROSS_CACHE": str(copy)})
    assert result.returncode == 1, result.stderr
    assert "no package of the arm64 sysroot provides libmodbus.so.5" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.deb"))
