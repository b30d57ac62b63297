"""Checks Swift sources and the uniffi C interface without a Swift compiler.

Run by `cargo xtask swift-check` inside a venv holding `tree-sitter` and
`tree-sitter-swift`. Usage:

    swift_check.py parse FILE...          tree-sitter parse, zero ERROR/MISSING nodes
    swift_check.py checksums SWIFT LIB    checksums and contract version the Swift
                                          file expects == what the library returns

Exit status 0 when every check passes.
"""

import ctypes
import re
import sys

# uniffi marks internal declarations with this block; the grammar does not know
# `@_documentation` and reports an ERROR for each. Blanked with spaces of the same
# length so that reported positions stay true.
DOC_BLOCK = re.compile(
    r"#if swift\(>=5\.8\)\s*\n\s*@_documentation\(visibility:\s*private\)\s*\n\s*#endif"
)

# uniffi writes `let writeReturn = { () }` (a closure returning the empty tuple) for
# callback methods without a return value; valid Swift that the grammar rejects. The
# empty tuple is blanked, leaving the equivalent `{    }`.
UNIT_CLOSURE = re.compile(r"(=\s*\{\s*)\(\)(\s*\})")

# A deliberate syntax error: the check must find it, or it proves nothing.
BROKEN = b"func broken( {\n    let x = \n}\n"


def parser():
    import tree_sitter
    import tree_sitter_swift

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))


def blank(text):
    text = DOC_BLOCK.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return UNIT_CLOSURE.sub(lambda m: m.group(1) + "  " + m.group(2), text)


def problems(p, source):
    """(line, column, kind) of every ERROR or MISSING node."""
    found = []
    stack = [p.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            row, col = node.start_point
            found.append((row + 1, col + 1, "missing " + node.type if node.is_missing else "error"))
            continue
        stack.extend(node.children)
    return sorted(found)


def parse(files):
    p = parser()
    if not problems(p, BROKEN):
        print("FAIL self-test: a deliberate syntax error was not reported")
        return 1
    print("ok   self-test: a deliberate syntax error is reported")
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        found = problems(p, blank(text).encode("utf-8"))
        lines = text.count("\n")
        if found:
            failed += 1
            print(f"FAIL {path}: {len(found)} syntax error(s)")
            for row, col, kind in found[:20]:
                print(f"     {path}:{row}:{col}: {kind}")
        else:
            print(f"ok   {path} ({lines} lines, 0 errors)")
    print(f"{len(files) - failed} parsed cleanly, {failed} with errors")
    return 1 if failed else 0


def checksums(swift_path, lib_path):
    with open(swift_path, encoding="utf-8") as f:
        text = f.read()
    lib = ctypes.CDLL(lib_path)
    failed = 0
    expected = re.findall(r"(uniffi_\w+_checksum_\w+)\(\)\s*!=\s*(\d+)", text)
    for name, value in expected:
        fn = getattr(lib, name)
        fn.restype = ctypes.c_uint16
        got = fn()
        if got != int(value):
            failed += 1
            print(f"FAIL {name}: Swift expects {value}, library returns {got}")
    contract = re.search(r"bindings_contract_version\s*=\s*(\d+)", text)
    version_fn = re.search(r"(ffi_\w+_uniffi_contract_version)\(\)", text)
    if not (contract and version_fn and expected):
        print("FAIL cannot find the checksums or the contract version in the Swift file")
        return 1
    fn = getattr(lib, version_fn.group(1))
    fn.restype = ctypes.c_uint32
    if fn() != int(contract.group(1)):
        failed += 1
        print(f"FAIL contract version: Swift expects {contract.group(1)}, library has {fn()}")
    if failed:
        print(f"{failed} checksum or version mismatch(es)")
    else:
        print(f"{len(expected)} of {len(expected)} API checksums and the contract version "
              f"({contract.group(1)}) match the library")
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "parse":
        return parse(argv[2:])
    if len(argv) == 4 and argv[1] == "checksums":
        return checksums(argv[2], argv[3])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
