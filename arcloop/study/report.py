"""The study's committed results: two tables, every paired comparison, the report and its figures.

:func:`study_tables` turns the arms' benchmark reports into the study's two CSVs; :func:`write_report`
reads nothing but those two tables and the study config, so regenerating the report from the
committed CSVs gives the committed report byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from arcloop.models.ssvae import SSVAE
from arcloop.study.analysis import (
    BASELINE_POLICY,
    CAMPAIGN_KEYS,
    GREEDY_POLICY,
    Effect,
    bootstrap_mean,
    effects_table,
    levels,
    mean_band,
    ok_campaigns,
    paired_differences,
    paired_trajectory,
    separated_from,
    trajectory_values,
)
from arcloop.study.config import StudyConfig
from arcloop.surrogates.gp import GPSurrogate

DISCOVERIES = "discovery/discoveries"
OUTSIDE_FAMILY = "discovery/outside_family_share"
REPORTED_GAP = "belief/reported_positive_gap"
OPTIMISM = "belief/holdout_optimism"
# (reading, short name, sign of "more bias": -1 when a lower value is more anisotropic / funnelled)
BIAS_READINGS: tuple[tuple[str, str, int], ...] = (
    ("bias/isoscore", "IsoScore", -1),
    ("bias/family_js_divergence", "family JS", +1),
    ("bias/log10_lengthscale_anisotropy", "log10 GP length-scale anisotropy", +1),
    ("bias/direction_entropy", "direction entropy", -1),
)
# The readings whose greedy − random curve the budget section follows (reading, short name).
BUDGET_READINGS: tuple[tuple[str, str], ...] = (
    (DISCOVERIES, "discoveries"),
    ("bias/isoscore", "IsoScore"),
    ("bias/family_js_divergence", "family JS"),
)
FILES = ("campaigns.csv", "trajectories.csv", "effects.csv", "report.md")
ANISOTROPY = "bias/lengthscale_anisotropy"
LOG_ANISOTROPY = "bias/log10_lengthscale_anisotropy"


def with_derived_readings(campaigns: pd.DataFrame) -> pd.DataFrame:
    """``campaigns`` with ``bias/log10_lengthscale_anisotropy.final``: log10 of the latent GP's
    largest / smallest ARD length-scale on z at the last iteration (0 = isotropic; NaN for the
    ``ssvae`` surrogate), in the campaign's own final latent frame. The ratio is heavy-tailed (one
    length-scale running to the prior's edge gives ratios of 10³), so a mean of raw ratios is decided
    by one seed; a paired difference of logs is the log of greedy's ratio over random's. The
    committed tables keep the raw ratio; this column exists only in the report."""
    out = campaigns.copy()
    raw = f"{ANISOTROPY}.final"
    if raw in out:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{LOG_ANISOTROPY}.final"] = np.log10(out[raw].to_numpy(dtype=np.float64))
    return out


def study_tables(arm_folders: Mapping[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's tables from each arm's benchmark report folder (``campaigns.csv``,
    ``trajectories.csv``): one row per campaign, and one row per campaign × iteration with a column
    per reading, both with the arm first and sorted by the campaign keys."""
    per_campaign, per_iteration = [], []
    for arm, folder in arm_folders.items():
        campaigns = pd.read_csv(folder / "campaigns.csv")
        campaigns.insert(0, "arm", arm)
        per_campaign.append(campaigns)
        long = pd.read_csv(folder / "trajectories.csv")
        wide = long.pivot_table(
            index=["policy", "surrogate", "oracle", "scenario", "seed", "status", "iteration"],
            columns="metric",
            values="value",
            aggfunc="first",
            dropna=False,
        ).reset_index()
        wide.columns.name = None
        wide.insert(0, "arm", arm)
        per_iteration.append(wide)
    campaigns = pd.concat(per_campaign, ignore_index=True)
    trajectories = pd.concat(per_iteration, ignore_index=True)
    campaigns = campaigns.sort_values(list(CAMPAIGN_KEYS), kind="stable").reset_index(drop=True)
    trajectories = trajectories.sort_values([*CAMPAIGN_KEYS, "iteration"], kind="stable")
    return campaigns, trajectories.reset_index(drop=True)


def _cell(effect: Effect, digits: str = ".3g") -> str:
    if not np.isfinite(effect.mean):
        return "–"
    if not np.isfinite(effect.low):
        return f"{effect.mean:{digits}} (n {effect.n})"
    mark = {"+": " ▲", "-": " ▼", "0": "", "n/a": ""}[effect.verdict]
    return f"{effect.mean:+{digits}} [{effect.low:+{digits}}, {effect.high:+{digits}}]{mark}"


def _plain_cell(effect: Effect) -> str:
    if not np.isfinite(effect.mean):
        return "–"
    if not np.isfinite(effect.low):
        return f"{effect.mean:.3g} (n {effect.n})"
    return f"{effect.mean:.3g} [{effect.low:.3g}, {effect.high:.3g}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


class StudyReport:
    """The report of one study run, built from its two tables."""

    def __init__(
        self, study: StudyConfig, campaigns: pd.DataFrame, trajectories: pd.DataFrame, quick: bool
    ) -> None:
        self.study = study
        self.quick = quick
        self.campaigns = with_derived_readings(campaigns)
        self.trajectories = trajectories
        self.last_iteration = int(trajectories["iteration"].max())
        self.ok = ok_campaigns(self.campaigns)
        self.arms = levels(campaigns, "arm")
        self.surrogates = levels(campaigns, "surrogate")
        self.scenarios = levels(campaigns, "scenario")
        self.policies = [p for p in levels(campaigns, "policy") if p != BASELINE_POLICY]
        self.comparisons: list[dict[str, object]] = []

    # -- statistics -------------------------------------------------------------------------------

    def effect(
        self,
        question: str,
        metric: str,
        treatment: dict[str, str],
        control: dict[str, str],
        fixed: dict[str, str],
    ) -> Effect:
        """A paired effect on ``<metric>.final``, recorded for ``effects.csv``."""
        column = f"{metric}.final"
        comparison = {
            "question": question,
            "metric": column,
            "treatment": treatment,
            "control": control,
            "fixed": fixed,
        }
        self.comparisons.append(comparison)
        row = effects_table(self.campaigns, [comparison], self.study.bootstrap, self.study.bootstrap_seed)
        record = row.iloc[0]
        return Effect(
            float(record["effect"]), float(record["ci_low"]), float(record["ci_high"]), int(record["n_pairs"])
        )

    def level(self, metric: str, selector: dict[str, str]) -> Effect:
        """Mean of ``<metric>.final`` over the seeds of the campaigns matching ``selector``."""
        rows = self.ok
        for key, value in selector.items():
            rows = rows[rows[key] == value]
        label = "level|" + metric + "|" + "|".join(f"{k}={v}" for k, v in sorted(selector.items()))
        return bootstrap_mean(
            rows[f"{metric}.final"].to_numpy(), self.study.bootstrap, self.study.bootstrap_seed, label
        )

    def has(self, metric: str) -> bool:
        column = f"{metric}.final"
        return column in self.ok and bool(np.isfinite(self.ok[column].to_numpy(dtype=np.float64)).any())

    # -- sections ---------------------------------------------------------------------------------

    def q1(self) -> tuple[str, dict[str, list[str]]]:
        """Greedy vs random, per arm × surrogate × scenario: the main table."""
        bias = [reading for reading in BIAS_READINGS if self.has(reading[0])]
        header = ["arm", "surrogate", "scenario"] + [f"Δ {name}" for _, name, _ in bias] + ["Δ discoveries"]
        rows, tally = [], {name: [] for _, name, _ in bias}
        for arm in self.arms:
            for surrogate in self.surrogates:
                for scenario in self.scenarios:
                    fixed = {"arm": arm, "surrogate": surrogate, "scenario": scenario}
                    row = [arm, surrogate, scenario]
                    for metric, name, sign in bias:
                        effect = self.effect(
                            "Q1", metric, {"policy": GREEDY_POLICY}, {"policy": BASELINE_POLICY}, fixed
                        )
                        row.append(_cell(effect))
                        if effect.verdict in ("+", "-"):
                            more = (effect.verdict == "+") == (sign > 0)
                            tally[name].append("amplified" if more else "reduced")
                        elif effect.verdict == "0":
                            tally[name].append("not supported")
                    row.append(
                        _cell(
                            self.effect(
                                "Q1",
                                DISCOVERIES,
                                {"policy": GREEDY_POLICY},
                                {"policy": BASELINE_POLICY},
                                fixed,
                            )
                        )
                    )
                    rows.append(row)
        return _table(header, rows), tally

    def q2(self) -> str:
        """Every policy against greedy and against random on the baseline scenario."""
        scenario = self.study.baseline_scenario
        parts = []
        for arm in self.arms:
            for surrogate in self.surrogates:
                fixed = {"arm": arm, "surrogate": surrogate, "scenario": scenario}
                rows = []
                for policy in self.policies:
                    if policy == GREEDY_POLICY:
                        continue
                    rows.append(
                        [
                            policy,
                            _cell(
                                self.effect(
                                    "Q2",
                                    "bias/isoscore",
                                    {"policy": policy},
                                    {"policy": GREEDY_POLICY},
                                    fixed,
                                )
                            ),
                            _cell(
                                self.effect(
                                    "Q2", DISCOVERIES, {"policy": policy}, {"policy": GREEDY_POLICY}, fixed
                                )
                            ),
                            _cell(
                                self.effect(
                                    "Q2",
                                    "bias/isoscore",
                                    {"policy": policy},
                                    {"policy": BASELINE_POLICY},
                                    fixed,
                                )
                            ),
                            _cell(
                                self.effect(
                                    "Q2", DISCOVERIES, {"policy": policy}, {"policy": BASELINE_POLICY}, fixed
                                )
                            ),
                        ]
                    )
                header = [
                    "policy",
                    "Δ IsoScore vs greedy",
                    "Δ discoveries vs greedy",
                    "Δ IsoScore vs random",
                    "Δ discoveries vs random",
                ]
                parts.append(f"**{arm} / {surrogate} / {scenario}**\n\n" + _table(header, rows))
        return "\n\n".join(parts)

    def q3(self) -> str:
        scenario = self.study.family_scenario
        if scenario is None or scenario not in self.scenarios or not self.has(OUTSIDE_FAMILY):
            return "Not in this grid (no seed-family scenario, or no `discovery/outside_family_share`)."
        parts = []
        for arm in self.arms:
            for surrogate in self.surrogates:
                rows = []
                for policy in [*self.policies, BASELINE_POLICY]:
                    fixed = {"arm": arm, "surrogate": surrogate}
                    inside = self.level(OUTSIDE_FAMILY, {**fixed, "policy": policy, "scenario": scenario})
                    start = self.level(
                        OUTSIDE_FAMILY, {**fixed, "policy": policy, "scenario": self.study.baseline_scenario}
                    )
                    versus = (
                        _cell(
                            self.effect(
                                "Q3",
                                OUTSIDE_FAMILY,
                                {"policy": policy},
                                {"policy": BASELINE_POLICY},
                                {**fixed, "scenario": scenario},
                            )
                        )
                        if policy != BASELINE_POLICY
                        else "–"
                    )
                    rows.append([policy, _plain_cell(inside), versus, _plain_cell(start)])
                header = [
                    "policy",
                    f"share outside the family, {scenario} start",
                    "Δ vs random (same start)",
                    f"same policy, {self.study.baseline_scenario} start",
                ]
                parts.append(f"**{arm} / {surrogate}**\n\n" + _table(header, rows))
        return "\n\n".join(parts)

    def q4(self) -> tuple[str, list[str]]:
        scenario = self.study.selection_scenario
        if scenario is None or scenario not in self.scenarios or not self.has(OPTIMISM):
            return "Not in this grid (no selection-bias scenario, or no `belief/*` readings).", []
        parts, findings = [], []
        baseline = self.study.baseline_scenario
        for arm in self.arms:
            for surrogate in self.surrogates:
                fixed = {"arm": arm, "surrogate": surrogate}
                rows, losses = [], {}
                for policy in [*self.policies, BASELINE_POLICY]:
                    own = {**fixed, "policy": policy}
                    gap = self.level(REPORTED_GAP, {**own, "scenario": scenario})
                    optimism = self.level(OPTIMISM, {**own, "scenario": scenario})
                    drift = self.effect("Q4", OPTIMISM, {"scenario": scenario}, {"scenario": baseline}, own)
                    loss = self.effect("Q4", DISCOVERIES, {"scenario": scenario}, {"scenario": baseline}, own)
                    losses[policy] = loss
                    rows.append([policy, _plain_cell(gap), _plain_cell(optimism), _cell(drift), _cell(loss)])
                header = [
                    "policy",
                    "reported − true positive share",
                    "held-out optimism",
                    f"Δ optimism vs {baseline} start",
                    f"Δ discoveries vs {baseline} start",
                ]
                parts.append(f"**{arm} / {surrogate} / {scenario}**\n\n" + _table(header, rows))
                findings.append(self._most_hurt(arm, surrogate, scenario, baseline, losses))
        return "\n\n".join(parts), findings

    def _most_hurt(
        self, arm: str, surrogate: str, scenario: str, baseline: str, losses: dict[str, Effect]
    ) -> str:
        """The policy whose discoveries fall most, and whether its fall is larger than the next one's
        (a difference of paired differences on the same seeds)."""
        finite = {p: e for p, e in losses.items() if np.isfinite(e.mean)}
        if len(finite) < 2:
            return f"{arm} / {surrogate}: too few policies to rank."
        ranked = sorted(finite, key=lambda p: finite[p].mean)
        worst, next_worst = ranked[0], ranked[1]
        column = f"{DISCOVERIES}.final"

        def fall(policy: str) -> pd.Series:
            own = {"arm": arm, "surrogate": surrogate, "policy": policy}
            return paired_differences(
                self.campaigns, column, {"scenario": scenario}, {"scenario": baseline}, own
            )

        a, b = fall(worst), fall(next_worst)
        seeds = a.index.intersection(b.index)
        label = f"Q4-rank|{arm}|{surrogate}|{worst}|{next_worst}"
        gap = bootstrap_mean(
            (a.loc[seeds] - b.loc[seeds]).to_numpy(), self.study.bootstrap, self.study.bootstrap_seed, label
        )
        claim = (
            "its change is more negative than the next policy's"
            if gap.verdict == "-"
            else "its change is **not** shown to be more negative than the next policy's"
        )
        return (
            f"{arm} / {surrogate}: most negative mean change in discoveries under {scenario}: **{worst}** "
            f"({finite[worst].mean:+.3g}); next {next_worst} ({finite[next_worst].mean:+.3g}); "
            f"difference {_cell(gap)}: {claim}."
        )

    def q5(self) -> tuple[str, int, int]:
        if len(self.surrogates) < 2:
            return "Only one surrogate in this grid.", 0, 0
        first, second = self.surrogates[0], self.surrogates[1]
        rows, changed, total = [], 0, 0
        for metric, name, _ in (*BIAS_READINGS, (DISCOVERIES, "discoveries", +1)):
            if not self.has(metric) or metric == LOG_ANISOTROPY:
                continue
            for arm in self.arms:
                for scenario in self.scenarios:
                    fixed = {"arm": arm, "scenario": scenario}
                    greedy = {"policy": GREEDY_POLICY}
                    random = {"policy": BASELINE_POLICY}
                    one = self.effect("Q5", metric, greedy, random, {**fixed, "surrogate": first})
                    two = self.effect("Q5", metric, greedy, random, {**fixed, "surrogate": second})
                    column = f"{metric}.final"
                    d_one = paired_differences(
                        self.campaigns, column, greedy, random, {**fixed, "surrogate": first}
                    )
                    d_two = paired_differences(
                        self.campaigns, column, greedy, random, {**fixed, "surrogate": second}
                    )
                    seeds = d_one.index.intersection(d_two.index)
                    between = bootstrap_mean(
                        (d_two.loc[seeds] - d_one.loc[seeds]).to_numpy(),
                        self.study.bootstrap,
                        self.study.bootstrap_seed,
                        f"Q5|{metric}|{arm}|{scenario}",
                    )
                    same = one.verdict == two.verdict
                    total += 1
                    changed += (not same) or between.verdict in ("+", "-")
                    rows.append(
                        [
                            name,
                            arm,
                            scenario,
                            _cell(one),
                            _cell(two),
                            _cell(between),
                            "yes" if same else "**no**",
                        ]
                    )
        header = [
            "reading",
            "arm",
            "scenario",
            f"greedy − random, {first}",
            f"greedy − random, {second}",
            f"{second} − {first} (paired)",
            "same verdict",
        ]
        return _table(header, rows), changed, total

    def budget(self) -> tuple[str, list[str]]:
        """Per arm × surrogate × scenario: the iteration from which greedy − random is apart for
        good (:func:`separated_from` of the paired band), for each of :data:`BUDGET_READINGS`."""
        readings = [reading for reading in BUDGET_READINGS if self.has(reading[0])]
        header = ["arm", "surrogate", "scenario"] + [f"{name}: apart from" for _, name in readings]
        rows, starts = [], {name: [] for _, name in readings}
        for arm in self.arms:
            for surrogate in self.surrogates:
                for scenario in self.scenarios:
                    fixed = {"arm": arm, "surrogate": surrogate, "scenario": scenario}
                    row = [arm, surrogate, scenario]
                    for metric, name in readings:
                        matrix = paired_trajectory(
                            self.trajectories,
                            metric,
                            {"policy": GREEDY_POLICY},
                            {"policy": BASELINE_POLICY},
                            fixed,
                        )
                        band = mean_band(
                            matrix,
                            self.study.bootstrap,
                            self.study.bootstrap_seed,
                            f"budget|{metric}|{arm}|{surrogate}|{scenario}",
                        )
                        start = separated_from(band)
                        starts[name].append(start)
                        if start is None:
                            row.append("–")
                        else:
                            row.append(f"{start} {'▲' if band['low'].iloc[-1] > 0 else '▼'}")
                    rows.append(row)
        last = self.last_iteration
        findings = []
        for name, found in starts.items():
            apart = sorted(start for start in found if start is not None)
            if not apart:
                findings.append(f"{name}: apart in none of {len(found)} cells by iteration {last}.")
                continue
            findings.append(
                f"{name}: apart by iteration {last} in {len(apart)} of {len(found)} cells, from iteration "
                f"{apart[0]} to {apart[-1]} (median {float(np.median(apart)):g})."
            )
        return _table(header, rows), findings

    def limits(self) -> list[str]:
        """The study's stated limits, with the settings that make them."""
        grid = self.study.grid(self.quick)
        ssvae = {**SSVAE.campaign_defaults(), **grid.get("campaign", {}).get("model", {})}
        gp_params = [entry.get("params", {}) for entry in grid.get("surrogates", []) if entry["name"] == "gp"]
        gp_steps = {**GPSurrogate().get_params(), **(gp_params[0] if gp_params else {})}["warm_steps"]
        parts = ("treatment", "control", "fixed")
        distinct = {
            (c["metric"], *(tuple(sorted(dict(c[part]).items())) for part in parts))  # type: ignore[call-overload]
            for c in self.comparisons
        }
        return [
            f"{len(distinct)} distinct paired comparisons, none corrected for multiplicity: about 1 in 20 "
            "of the comparisons with no true effect is expected to carry a ▲ or ▼ by chance. A verdict "
            "repeated across arms, surrogates and scenarios is the evidence; a lone mark is not.",
            f"The `ssvae` surrogate's heads are refitted for {ssvae['warm_max_epochs']} warm epochs per "
            f"iteration at learning rate {ssvae['warm_learning_rate']:g} (the loop's presets), the `gp` "
            f"for {gp_steps} Adam steps on the same latent codes. Question 5 compares the two surrogates "
            "as the loop runs them, not the two model classes at convergence.",
            "Effects are read at the last iteration of a fixed budget; the budget section says from when "
            "greedy and random are apart, the figures whether they are still growing. Another budget, "
            "batch size or target may give other answers.",
            "In the latent arm a discovery is what the emulator (a model fitted to the real labels) calls "
            "single phase, not a measured phase; the pool arm's labels are the measured ones.",
        ]

    # -- figures ----------------------------------------------------------------------------------

    def _panels(self, path: Path, title: str, draw: object) -> Path:
        figure, axes = plt.subplots(
            len(self.arms),
            len(self.surrogates),
            figsize=(5.0 * len(self.surrogates), 3.6 * len(self.arms)),
            dpi=100,
            squeeze=False,
        )
        for i, arm in enumerate(self.arms):
            for j, surrogate in enumerate(self.surrogates):
                axis = axes[i][j]
                draw(axis, arm, surrogate)  # type: ignore[operator]
                axis.set_title(f"{arm} / {surrogate}", fontsize=10)
                if axis.get_legend_handles_labels()[0]:
                    axis.legend(fontsize=7)
        figure.suptitle(title, fontsize=11)
        figure.tight_layout()
        figure.savefig(path, metadata={"Software": None})
        plt.close(figure)
        return path

    def _band(self, axis: object, matrix: pd.DataFrame, label: str, key: str, **style: object) -> None:
        band = mean_band(matrix, self.study.bootstrap, self.study.bootstrap_seed, key)
        if band.empty:
            return
        axis.plot(band["iteration"], band["mean"], label=label, linewidth=1.6, **style)  # type: ignore[attr-defined]
        axis.fill_between(band["iteration"], band["low"], band["high"], alpha=0.15)  # type: ignore[attr-defined]

    def _policy_bands(self, scenario: str, metric: str, ylabel: str) -> object:
        """A panel drawer: ``metric`` by iteration under ``scenario``, one band per policy."""

        def draw(axis: object, arm: str, surrogate: str) -> None:
            for policy in [*self.policies, BASELINE_POLICY]:
                selector = {"arm": arm, "surrogate": surrogate, "scenario": scenario, "policy": policy}
                matrix = trajectory_values(self.trajectories, metric, selector)
                self._band(axis, matrix, policy, f"{metric}|{scenario}|{arm}|{surrogate}|{policy}")
            axis.axhline(0.0, color="grey", linewidth=0.8)  # type: ignore[attr-defined]
            axis.set_xlabel("iteration")  # type: ignore[attr-defined]
            axis.set_ylabel(ylabel)  # type: ignore[attr-defined]

        return draw

    def figures(self, folder: Path) -> list[Path]:
        paths = []

        def q1(axis: object, arm: str, surrogate: str) -> None:
            for scenario in self.scenarios:
                fixed = {"arm": arm, "surrogate": surrogate, "scenario": scenario}
                matrix = paired_trajectory(
                    self.trajectories,
                    "bias/isoscore",
                    {"policy": GREEDY_POLICY},
                    {"policy": BASELINE_POLICY},
                    fixed,
                )
                self._band(axis, matrix, scenario, f"fig1|{arm}|{surrogate}|{scenario}")
            axis.axhline(0.0, color="grey", linewidth=0.8)  # type: ignore[attr-defined]
            axis.set_xlabel("iteration")  # type: ignore[attr-defined]
            axis.set_ylabel("IsoScore, greedy − random (same seed)")  # type: ignore[attr-defined]

        paths.append(
            self._panels(folder / "q1-isoscore-greedy-minus-random.png", "Q1: greedy − random, IsoScore", q1)
        )

        def q2(axis: object, arm: str, surrogate: str) -> None:
            for policy in [*self.policies, BASELINE_POLICY]:
                selector = {
                    "arm": arm,
                    "surrogate": surrogate,
                    "scenario": self.study.baseline_scenario,
                    "policy": policy,
                }
                found = trajectory_values(self.trajectories, DISCOVERIES, selector).mean(axis=0)
                iso = trajectory_values(self.trajectories, "bias/isoscore", selector).mean(axis=0)
                axis.plot(found.to_numpy(), iso.to_numpy(), marker=".", label=policy, linewidth=1.4)  # type: ignore[attr-defined]
            axis.set_xlabel("distinct discoveries (mean over seeds)")  # type: ignore[attr-defined]
            axis.set_ylabel("IsoScore of the explored set")  # type: ignore[attr-defined]

        paths.append(
            self._panels(folder / "q2-tradeoff.png", "Q2: bias–discovery trade-off, one curve per policy", q2)
        )
        for scenario, metric, name, title, ylabel in (
            (
                self.study.family_scenario,
                OUTSIDE_FAMILY,
                "q3-outside-family.png",
                "Q3: leaving the seed family",
                "share of discoveries outside the family",
            ),
            (
                self.study.selection_scenario,
                OPTIMISM,
                "q4-optimism.png",
                "Q4: belief vs truth under selection bias",
                "held-out optimism (mean P − true share)",
            ),
        ):
            if scenario in self.scenarios and self.has(metric):
                paths.append(
                    self._panels(folder / name, title, self._policy_bands(str(scenario), metric, ylabel))
                )
        return paths

    # -- the document -----------------------------------------------------------------------------

    def markdown(self, figures: Sequence[Path]) -> str:
        grid = self.study.grid(self.quick)
        n_seeds = self.campaigns["seed"].nunique()
        n_failed = int((self.campaigns["status"] != "ok").sum())
        main, tally = self.q1()
        q4_tables, q4_findings = self.q4()
        q5_table, changed, total = self.q5()
        budget_table, budget_findings = self.budget()
        last = self.last_iteration
        batch = grid.get("campaign", {}).get("batch_size", "?")
        lines = [
            f"# Study: {self.study.name}",
            "",
            *(
                ["**The `--quick` variant: a check of the pipeline, not a result.**", ""]
                if self.quick
                else []
            ),
            f"{len(self.campaigns)} campaigns ({n_failed} failed): arms {', '.join(self.arms)}; surrogates "
            f"{', '.join(self.surrogates)}; scenarios {', '.join(self.scenarios)}; policies "
            f"{', '.join([*self.policies, BASELINE_POLICY])}; {n_seeds} seeds; "
            f"{self.last_iteration + 1} iterations. How it was run: `RUN.md`.",
            "",
            "Every number is a paired comparison on the same seeds (same initial set, same first model): "
            "the mean over seeds of treatment − control at the last iteration, with a percentile-bootstrap "
            f"95 % interval ({self.study.bootstrap} resamples). ▲ / ▼: the interval lies above / below 0; no "
            "mark: it contains 0, and nothing is claimed. Intervals are per comparison, not corrected for "
            "the number of comparisons. Every comparison is in `effects.csv`.",
            "",
            "## 1. Does greedy steering amplify bias, relative to random?",
            "",
            "Greedy − random. IsoScore (of the explored set: the initial alloys and every proposal, in the "
            "final latent frame) and direction entropy (of the last batch's steps from the explored set): "
            "lower is more anisotropic / funnelled; family JS (explored set's element families vs the "
            "pool's) and log10 of the latent GP's largest / smallest length-scale (its Δ is log10 of "
            "greedy's ratio over random's): higher is more biased. Δ discoveries: distinct discoveries.",
            "",
            main,
            "",
        ]
        for name, verdicts in tally.items():
            if verdicts:
                counts = {v: verdicts.count(v) for v in ("amplified", "reduced", "not supported")}
                lines.append(
                    f"- {name}: greedy amplifies bias in {counts['amplified']} of {len(verdicts)} cells, "
                    f"reduces it in {counts['reduced']}, not supported in {counts['not supported']}."
                )
        lines += [
            "",
            "## 2. Does uncertainty-modulated steering reduce it, and at what cost in discoveries?",
            "",
            f"Scenario `{self.study.baseline_scenario}`. A positive Δ IsoScore vs greedy is less anisotropy "
            "than greedy's; a negative Δ discoveries vs greedy is the cost. The trade-off curves "
            "(`q2-tradeoff.png`) follow each policy's mean (discoveries, IsoScore) over the iterations.",
            "",
            self.q2(),
            "",
            "## 3. Does a seed-family start stay in its family?",
            "",
            "`discovery/outside_family_share` at the last iteration: the share of distinct discoveries whose "
            "dominant element family is not the seed family (mean over seeds [bootstrap 95 %]); by iteration "
            "in `q3-outside-family.png`.",
            "",
            self.q3(),
            "",
            "## 4. Under selection bias, how far does belief drift from truth, and who suffers most?",
            "",
            "`belief/reported_positive_gap`: share single phase among the labels the loop was told minus "
            "the true share among what it paid for; `belief/holdout_optimism`: the surrogate's mean "
            "P(single phase) on the held-out alloys minus their true share. Δ columns pair each campaign "
            f"with the same policy and seed under `{self.study.baseline_scenario}` (the same initial set: "
            "only the dropped negatives differ).",
            "",
            q4_tables,
            "",
            *[f"- {finding}" for finding in q4_findings],
            "",
            "## 5. Does the surrogate change the answers?",
            "",
            f"The greedy − random effects of question 1 under each surrogate, and their paired difference. "
            f"The answer changes (different verdict, or a difference whose interval excludes 0) in "
            f"{changed} of {total} comparisons.",
            "",
            q5_table,
            "",
            "## The budget: from which iteration are greedy and random apart?",
            "",
            f"Greedy − random on the same seeds, iteration by iteration (iteration 0 is the first batch of "
            f"{batch} alloys, iteration {last} the last): the first "
            "iteration from which the bootstrap 95 % interval of the mean paired difference excludes 0 there "
            "and at every later iteration, on the side marked (▲ greedy higher). –: the interval at the last "
            "iteration contains 0. A cell apart only from the last iteration rests on the budget's end; "
            "one apart early does not. The per-iteration intervals are resampled on their own, apart from "
            "question 1's.",
            "",
            budget_table,
            "",
            *[f"- {finding}" for finding in budget_findings],
            "",
            "## What these numbers do not say",
            "",
            *[f"- {limit}" for limit in self.limits()],
            "",
            "## Figures",
            "",
            *[f"![{path.stem}]({path.name})" for path in figures],
            "",
            "## Settings",
            "",
            "```",
            *[f"{key}: {value}" for key, value in sorted(grid.get("campaign", {}).items())],
            *[
                f"arm {arm.name}: oracle {arm.oracle.name}, candidates {arm.candidates}"
                for arm in self.study.arms
            ],
            "```",
            "",
        ]
        return "\n".join(lines)


def write_report(
    study: StudyConfig, campaigns: pd.DataFrame, trajectories: pd.DataFrame, folder: Path, quick: bool
) -> list[Path]:
    """Write the tables, ``effects.csv``, the figures and ``report.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    campaigns.to_csv(folder / "campaigns.csv", index=False)
    trajectories.to_csv(folder / "trajectories.csv", index=False)
    # Read back, so that a report written now and one regenerated from the files agree to the byte.
    campaigns = pd.read_csv(folder / "campaigns.csv")
    trajectories = pd.read_csv(folder / "trajectories.csv")
    report = StudyReport(study, campaigns, trajectories, quick)
    figures = report.figures(folder)
    text = report.markdown(figures)
    (folder / "report.md").write_text(text)
    # 12 significant digits: the bootstrap's sums differ in the last bit between numpy builds, and
    # a regenerated effects.csv must come out byte for byte as committed.
    effects_table(report.campaigns, report.comparisons, study.bootstrap, study.bootstrap_seed).to_csv(
        folder / "effects.csv", index=False, float_format="%.12g"
    )
    return [folder / name for name in FILES] + figures


def refresh_report(study: StudyConfig, folder: Path, quick: bool) -> list[Path]:
    """Rewrite everything in ``folder`` from the two tables already there (what ``--report-only``
    does; on unchanged tables every file comes out as it was)."""
    campaigns = pd.read_csv(folder / "campaigns.csv")
    trajectories = pd.read_csv(folder / "trajectories.csv")
    return write_report(study, campaigns, trajectories, folder, quick)
