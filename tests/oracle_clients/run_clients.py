"""Write a candidate directory of outputs from the from-scratch oracle clients.

Reads only ``<export>/<subpackage>/<case>/inputs.npz`` (numpy, no pickles) and writes
``<candidate>/<subpackage>/<case>/outputs.npz`` (docs/oracle.md, file layout). Sparse
outputs come back from the clients already split into NAME.indptr / NAME.indices /
NAME.data / NAME.shape CSC parts.
"""

import importlib
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# module name -> subpackage; each module lists its cases in CASES
CLIENTS = {
    "orderings": "vecchia",
    "patterns": "vecchia",
    "factors": "vecchia",
    "diagnostics": "vecchia",
    "prediction": "vecchia",
    "cgd_trajectories": "cgd",
    "gan_products": "cgd",
    "inrank": "inrank",
    "pde": "pde",
}


def client_for(subpackage, case):
    """The client module that covers <subpackage>.<case>, or None."""
    for name, sub in CLIENTS.items():
        if sub != subpackage:
            continue
        module = importlib.import_module(name)
        if case in module.CASES:
            return module
    return None


def load_inputs(path):
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def write_candidate(export_dir, candidate_dir):
    """Compute every exported case a client covers; return the list of cases written."""
    export_dir, candidate_dir = Path(export_dir), Path(candidate_dir)
    written = []
    for inputs_path in sorted(export_dir.glob("*/*/inputs.npz")):
        case_dir = inputs_path.parent
        subpackage, case = case_dir.parent.name, case_dir.name
        module = client_for(subpackage, case)
        if module is None:
            continue
        outputs = module.compute(case, load_inputs(inputs_path))
        target = candidate_dir / subpackage / case
        target.mkdir(parents=True, exist_ok=True)
        np.savez(target / "outputs.npz", **outputs)
        written.append(f"{subpackage}.{case}")
    return written


if __name__ == "__main__":
    for name in write_candidate(sys.argv[1], sys.argv[2]):
        print(name)
