"""Full-batch training of :class:`~arcloop.models.networks.SSVAENet`: the objective, Adam, the schedule.

Objective, per training alloy (minimised)::

    [ −ELBO(labelled, φ observed) − ELBO(unlabelled, φ enumerated)
      + γ · Σ_k Σ_i w_ki BCE(h_k(f_i), y_i) / K ] / n

The ELBO is Pyro's ``TraceEnum_ELBO`` (its ``differentiable_loss``, so that the optimiser, the schedule
and early stopping are plain torch and the parameters live in the module, not in Pyro's global
parameter store). The γ term is the auxiliary classification loss of Kingma et al. (2014) applied to
each of the K heads with its own bootstrap weights w_k. Full batch: with n ≈ 1,400 alloys one step over
everything is much cheaper on CPU than many minibatches.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch
from pyro.infer import ELBO, Trace_ELBO, TraceEnum_ELBO

from arcloop.models.networks import SSVAENet


@dataclass(frozen=True)
class TrainingTensors:
    """float32 tensors of one fit. ``weights`` (K, n_l) are the heads' bootstrap weights (all ones: none)."""

    x_l: torch.Tensor
    y_l: torch.Tensor
    f_l: torch.Tensor
    x_u: torch.Tensor
    f_u: torch.Tensor
    weights: torch.Tensor

    @property
    def n(self) -> int:
        return self.x_l.shape[0] + self.x_u.shape[0]


@dataclass(frozen=True)
class ValidationTensors:
    """Raw descriptors (n, 8) and 0/1 labels of the validation alloys (early stopping)."""

    f: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class TrainSettings:
    """Everything the loop needs besides the data. ``patience`` None: no early stopping."""

    epochs: int
    learning_rate: float
    aux_weight: float
    prior_single: float
    total_count: int
    lr_patience: int
    lr_factor: float
    patience: int | None
    semi_supervised: bool = True


@dataclass
class History:
    """Per-epoch records of one fit. ``elbo`` is per training alloy (nats); ``best_epoch`` is the kept one."""

    loss: list[float] = field(default_factory=list)
    elbo: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    best_epoch: int = -1
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "loss": self.loss,
            "elbo": self.elbo,
            "val_accuracy": self.val_accuracy,
            "learning_rate": self.learning_rate,
            "best_epoch": self.best_epoch,
            "n_epochs": len(self.loss),
            "seconds": self.seconds,
        }


def _estimator(data: TrainingTensors, **options: object) -> ELBO:
    """TraceEnum_ELBO when φ has to be enumerated (unlabelled alloys), the plain Trace_ELBO otherwise."""
    if data.x_u.shape[0]:
        return TraceEnum_ELBO(max_plate_nesting=1, **options)
    return Trace_ELBO(max_plate_nesting=1, **options)


def _elbo_args(data: TrainingTensors, settings: TrainSettings) -> tuple:
    return (data.x_l, data.y_l, data.f_l, data.x_u, data.f_u, settings.prior_single, settings.total_count)


def head_loss(net: SSVAENet, data: TrainingTensors) -> torch.Tensor:
    """Σ_k Σ_i w_ki BCE(h_k(f_i), y_i) / K over the labelled alloys (nats, summed over alloys)."""
    logits = net.head_logits(data.f_l)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, data.y_l.expand_as(logits), weight=data.weights, reduction="sum"
    )
    return bce / logits.shape[0]


def _score(net: SSVAENet, validation: ValidationTensors) -> tuple[float, float]:
    """(accuracy, log loss) of the ensemble mean on the validation alloys."""
    with torch.no_grad():
        p = net.phase_probability(validation.f).clamp(1e-6, 1 - 1e-6)
        accuracy = float(((p > 0.5).to(validation.y.dtype) == validation.y).float().mean())
        log_loss = float(torch.nn.functional.binary_cross_entropy(p, validation.y))
    return accuracy, log_loss


def train(
    net: SSVAENet,
    data: TrainingTensors,
    settings: TrainSettings,
    validation: ValidationTensors | None = None,
) -> History:
    """Train ``net`` in place; returns the history. Uses the global torch RNG: seed it (or fork it) first.

    A fresh Adam each call; the learning rate is multiplied by ``lr_factor`` when the training loss
    has not improved for ``lr_patience`` epochs. With a validation set, training stops after
    ``patience`` epochs without a better validation accuracy (ties: lower validation log loss), and
    the classifier heads of the best epoch are restored. The encoder and decoder keep their last
    weights: a classification score is no reason to throw away the generative model's last
    ``patience`` epochs (the 2-D decoder is still improving long after the heads have peaked).
    """
    started = time.perf_counter()
    history = History()
    elbo = _estimator(data)
    parameters = list(net.heads.parameters()) if not settings.semi_supervised else list(net.parameters())
    optimizer = torch.optim.Adam(parameters, lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=settings.lr_factor, patience=settings.lr_patience
    )
    args = _elbo_args(data, settings)
    n = data.n if settings.semi_supervised else data.x_l.shape[0]
    best: tuple[float, float] = (-1.0, float("inf"))
    best_state: dict[str, torch.Tensor] | None = None
    since_best = 0
    net.train()
    for epoch in range(settings.epochs):
        optimizer.zero_grad(set_to_none=True)
        aux = head_loss(net, data)
        if settings.semi_supervised:
            negative_elbo = elbo.differentiable_loss(net.model, net.guide, *args)
            loss = (negative_elbo + settings.aux_weight * aux) / n
        else:
            negative_elbo = torch.zeros(())
            loss = aux / n
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        scheduler.step(value)
        history.loss.append(value)
        history.elbo.append(-float(negative_elbo.detach()) / max(data.n, 1))
        history.learning_rate.append(optimizer.param_groups[0]["lr"])
        if validation is None:
            continue
        score = _score(net, validation)
        history.val_accuracy.append(score[0])
        if score[0] > best[0] or (score[0] == best[0] and score[1] < best[1]):
            best, best_state, since_best = score, copy.deepcopy(net.heads.state_dict()), 0
            history.best_epoch = epoch
        else:
            since_best += 1
            if settings.patience is not None and since_best > settings.patience:
                break
    if best_state is not None:
        net.heads.load_state_dict(best_state)
    else:
        history.best_epoch = len(history.loss) - 1
    net.eval()
    history.seconds = time.perf_counter() - started
    return history


def elbo_per_datum(
    net: SSVAENet,
    data: TrainingTensors,
    prior_single: float,
    total_count: int,
    num_particles: int = 8,
) -> float:
    """ELBO per alloy (nats) of ``data`` under ``net``, averaged over ``num_particles`` draws of z.

    Uses the global torch RNG: seed or fork it first for a reproducible value.
    """
    if data.n == 0:
        return float("nan")
    estimator = _estimator(data, num_particles=num_particles, vectorize_particles=True)
    loss = estimator.loss(
        net.model, net.guide, data.x_l, data.y_l, data.f_l, data.x_u, data.f_u, prior_single, total_count
    )
    return -float(loss) / data.n
