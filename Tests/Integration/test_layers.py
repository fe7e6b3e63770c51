"""The module layers (docs/architecture.md): Core and YAML → Config (and Audit) → History → the protocol and console modules →
Runtime → the railgate executable. Read from the sources' imports: no module imports one of its
own layer or above it (the protocol modules, north and the console do not know each other)."""
import pathlib
import re
import subprocess

from conftest import RAILGATE

ROOT = pathlib.Path(__file__).resolve().parents[2]

LAYERS = [
    {"RailgateCore", "RailgateYAML"},
    {"RailgateConfig", "RailgateAudit"},
    {"RailgateHistory"},
    {"ModbusSouth", "ProfibusSouth", "CANSouth", "MQTTNorth", "OPCUAServer", "Console"},
    {"RailgateRuntime"},
    {"Railgate"},
]
LAYER = {module: level for level, modules in enumerate(LAYERS) for module in modules}
IMPORT = re.compile(r"^\s*(?:@testable\s+)?import\s+(\w+)", re.M)


def imports(module):
    found = set()
    for source in (ROOT / "Sources" / module).rglob("*.swift"):
        found |= set(IMPORT.findall(source.read_text(encoding="utf-8")))
    return found & set(LAYER)


def test_every_module_is_in_a_layer():
    modules = {p.name for p in (ROOT / "Sources").iterdir() if p.is_dir() and any(p.rglob("*.swift"))}
    assert modules == set(LAYER), f"modules without a layer: {modules - set(LAYER)}; gone: {set(LAYER) - modules}"


def test_imports_point_down_only():
    upward = []
    for module, level in LAYER.items():
        for imported in imports(module):
            if imported != module and LAYER[imported] >= level:
                upward.append(f"{module} (layer {level}) imports {imported} (layer {LAYER[imported]})")
    assert not upward, "\n".join(upward)


def test_no_module_imports_foundation_and_the_binary_links_neither_it_nor_icu():
    # Foundation brings ICU into the binary (docs/architecture.md): FoundationEssentials or the C library.
    # An `#else` branch of `#if canImport(FoundationEssentials)` (generated code has one) is never compiled here.
    fallback = re.compile(r"#if canImport\(FoundationEssentials\)\s*\n\s*import FoundationEssentials\s*\n\s*#else\s*\n\s*import Foundation\s*\n\s*#endif")
    whole = re.compile(r"^\s*(?:@\w+\s+)*(?:public\s+|internal\s+)?import\s+Foundation\s*$", re.M)
    found = [str(source.relative_to(ROOT)) for source in (ROOT / "Sources").rglob("*.swift")
             if whole.search(fallback.sub("", source.read_text(encoding="utf-8")))]
    assert not found, f"import Foundation in: {found}"
    needed = subprocess.run(["readelf", "-d", str(RAILGATE)], capture_output=True, text=True, check=True).stdout
    libraries = re.findall(r"Shared library: \[([^\]]+)\]", needed)
    assert not [name for name in libraries if name.startswith(("libFoundation.", "libFoundationInternationalization", "lib_FoundationICU", "libicu"))], libraries
