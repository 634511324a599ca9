"""``arcloop data``: what the packaged dataset holds."""

from __future__ import annotations

import json

import typer

from arcloop.data import ELEMENTS, alloy_fractions, load_alloys, load_descriptor_table
from arcloop.materials import FAMILY_NAMES, dominant_family, n_elements

data_app = typer.Typer(help="The packaged alloy dataset.", no_args_is_help=True)


def dataset_summary() -> dict[str, object]:
    alloys = load_alloys()
    X = alloy_fractions()
    counts = n_elements(X)
    family = dominant_family(X)
    return {
        "n_alloys": len(alloys),
        "n_single_phase": int(alloys["single_phase"].sum()),
        "n_multi_phase": int((alloys["single_phase"] == 0).sum()),
        "by_n_elements": {int(k): int((counts == k).sum()) for k in sorted(set(counts.tolist()))},
        "by_dominant_family": {name: int((family == j).sum()) for j, name in enumerate(FAMILY_NAMES)},
        "elements": list(ELEMENTS),
        # the published descriptor table the oracles and the checks of arcloop.materials read
        "n_descriptor_rows": len(load_descriptor_table()),
        "source": "Yan et al., Comput. Mater. Sci. 199 (2021) 110723; Zeng, Khan & Post, arXiv:2409.06740",
    }


@data_app.command("info")
def info(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Counts by class, by number of elements and by dominant element family."""
    summary = dataset_summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    typer.echo(
        f"{summary['n_alloys']} alloys: {summary['n_single_phase']} single phase, "
        f"{summary['n_multi_phase']} multiple phases"
    )
    for title, key in (
        ("by number of elements", "by_n_elements"),
        ("by dominant family", "by_dominant_family"),
    ):
        typer.echo(f"{title}: " + ", ".join(f"{k}: {v}" for k, v in summary[key].items()))
    typer.echo("elements: " + " ".join(summary["elements"]))
    typer.echo(f"descriptor table: {summary['n_descriptor_rows']:,} alloys with the 8 descriptors")
    typer.echo(f"source: {summary['source']}")


def register(root: typer.Typer) -> None:
    root.add_typer(data_app, name="data")
