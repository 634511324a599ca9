"""``arcloop data``: the packaged datasets and the user's own tables."""

from __future__ import annotations

import json

import typer

data_app = typer.Typer(help="Datasets: the packaged ones and your own tables.", no_args_is_help=True)


def dataset_summary() -> dict[str, object]:
    # Imported here: `arcloop --help` must not pay for pandas.
    from arcloop.data import ELEMENTS, alloy_fractions, load_alloys, load_descriptor_table
    from arcloop.materials import FAMILY_NAMES, dominant_family, n_elements

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


@data_app.command("list")
def list_datasets(as_json: bool = typer.Option(False, "--json", help="Print one JSON list.")) -> None:
    """The packaged datasets: name, size, inputs, property and published goal."""
    from arcloop.datasets import PACKAGED, load_dataset

    rows = []
    for name, spec in PACKAGED.items():
        dataset = load_dataset(name)
        rows.append(
            {
                "name": name,
                "distinct_inputs": len(dataset),
                "rows": dataset.n_rows,
                "inputs": dataset.input_kind,
                "property": spec.prop,
                "default_target": spec.target,
                "description": spec.description,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        goal = ", ".join(f"{k}: {v}" for k, v in row["default_target"].items() if k != "property")
        typer.echo(
            f"{row['name']:15s} {row['distinct_inputs']:5d} inputs ({row['rows']} rows), {row['inputs']}; "
            f"{row['property']} ({goal})"
        )
        typer.echo(f"{'':15s} {row['description']}")


def _print_dataset(summary: dict[str, object]) -> None:
    typer.echo(
        f"{summary['name']}: {summary['distinct_inputs']} distinct inputs from {summary['rows']} rows; "
        f"inputs ({summary['input_kind']}): {', '.join(summary['inputs'])}"  # type: ignore[arg-type]
    )
    for name, spec in summary["properties"].items():  # type: ignore[union-attr]
        unit = f" [{spec['unit']}]" if spec["unit"] else ""
        typer.echo(
            f"property {name}{unit}: {spec['kind']}, min {spec['min']:.6g}, median {spec['median']:.6g}, "
            f"max {spec['max']:.6g}"
        )
    for note in summary["notes"]:  # type: ignore[union-attr]
        typer.echo(f"note: {note}")
    if summary["default_target"]:
        typer.echo(f"default target: {summary['default_target']}")
    if summary["citation"]:
        typer.echo(f"cite: {summary['citation']}")


@data_app.command("info")
def info(
    dataset: str | None = typer.Argument(
        None, help="a packaged name (arcloop data list) or a CSV/Parquet file; default: the alloys"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """What a dataset holds: inputs, properties with their ranges, how rows were grouped. Without a
    name, the packaged alloys by class, element count and family."""
    if dataset is not None:
        from arcloop.datasets import load_dataset

        described = load_dataset(dataset).summary()
        if as_json:
            typer.echo(json.dumps(described))
        else:
            _print_dataset(described)
        return
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
