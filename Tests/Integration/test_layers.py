"""The module layers (docs/architecture.md): Core → Config (and Audit) → History → the protocol and console modules →
Runtime → the railgate executable. Read from the sources' imports: no module imports one of its
own layer or above it (the protocol modules, north and the console do not know each other)."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]

LAYERS = [
    {"RailgateCore"},
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
