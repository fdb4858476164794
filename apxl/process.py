"""What apxl knows about the process it runs in.

`OWNED` is set by apxl's own entry points (the command line, the Excel buttons): the process is apxl's
alone, so it may skip what a script's process might still want (pandera's hypothesis strategies, see
apxl.checks.register_backends). A script that imports apxl leaves it False.
"""

OWNED = False
