"""``divert classify``: a city's raw file → classified calls (parquet), with the same core."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click
import msgspec
import pandas as pd

from divert.adapters import load_adapter
from divert.adapters.reader import reading
from divert.classify import classify_frame
from divert.crosswalk import load_crosswalk
from divert.exceptions import InvalidRecord
from divert.policy import load_policy


@click.command("classify")
@click.option("--city", required=True)
@click.option("--input", "input_path", type=click.Path(exists=True, path_type=Path),
              help="raw CAD file (default: the city's history files)")
@click.option("--output", "output_path", type=click.Path(path_type=Path), required=True,
              help="parquet file of classified calls")
@click.option("--policy", "policy_path", type=click.Path(exists=True, path_type=Path),
              help="policy YAML (default reference/policies/default.yaml)")
def command(city: str, input_path: Path | None, output_path: Path, policy_path: Path | None) -> None:
    """Classify every call of a raw file in batch; rows that fail normalization are counted."""
    adapter = load_adapter(city)
    crosswalk = load_crosswalk(city)
    with reading(policy_path or "the default policy", config=True):
        policy = load_policy(policy_path)
    rows, failed, read = [], Counter(), 0
    for raw in adapter.read_raw(input_path):
        read += 1
        try:
            event = adapter.normalize(raw).event
        except InvalidRecord as exc:
            failed[f"{exc.field or '-'}: {exc.reason}"] += 1
            continue
        if event is not None:
            rows.append(msgspec.structs.asdict(event))
    df = pd.DataFrame(rows)
    if df.empty:
        raise click.ClickException(f"no {city} record could be normalized ({read} read)")
    # files may repeat an event (Seattle's extracts): the adapter reads the fullest file last
    repeats = int(df.duplicated("incident_id", keep="last").sum())
    df = df.drop_duplicates("incident_id", keep="last").reset_index(drop=True)
    out = classify_frame(df, crosswalk, policy)
    if "areas" in out and not out["areas"].map(bool).any():
        out = out.drop(columns="areas")  # an all-empty struct column cannot be written
    out.to_parquet(output_path, index=False)
    shares = out["route"].value_counts(normalize=True)
    click.echo(f"{city}: {read:,} read, {len(out):,} classified, {sum(failed.values()):,} failed "
               f"normalization, {repeats:,} repeated events kept once → {output_path} (policy {policy.version})")
    for reason, n in failed.most_common(10):
        click.echo(f"  failed {n:>8,}  {reason}")
    for route, share in shares.items():
        click.echo(f"  {route:<18} {share:6.1%}")
    click.echo(f"  eligible (initial type) {out['eligible_initial'].mean():.1%}, "
               f"eligible {out['eligible'].mean():.1%}")
