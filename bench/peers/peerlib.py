"""Shared bits of the Dask peer scripts: argument reading and the one JSON
line each script prints for bench/run.sh (which keeps the last line)."""
import json
import logging
import sys

# Dask logs every worker start and stop at INFO; the figures are the output.
logging.disable(logging.WARNING)


def arg(i, default, conv=str):
    """Positional argument i (1-based) converted with conv, or default."""
    return conv(sys.argv[i]) if len(sys.argv) > i else default


def emit(**fields):
    """Print the result line; system says which Dask produced it."""
    import distributed
    print(json.dumps({"system": "dask-" + distributed.__version__, **fields}), flush=True)
