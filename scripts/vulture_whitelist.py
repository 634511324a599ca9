"""Names the dead-code check (scripts/check_dead_code.py) must not report, each with its reason.

Read by vulture as code that uses them, and by the script's name check likewise.
"""

from arcloop.models.design import generate, screen
from arcloop.oracles.synthetic import SyntheticOracle
from arcloop.surrogates.gp import GPSurrogate

# The Python API of inverse design the README documents next to `arcloop design flip`.
screen, generate  # noqa: B018

# Inspection API: the ground truth of a synthetic landscape on a grid, and the GP's latent posterior
# with its covariance. The tests read the oracle's geometry and the GP's joint draws through them.
SyntheticOracle.truth_grid  # noqa: B018
GPSurrogate.posterior_f  # noqa: B018

# numpy: setting the flag is the use (arrays handed to policies are read-only).
_.writeable  # noqa: B018, F821

# CampaignState.proposed_true: recorded in every checkpoint (what truth says of each proposal, also
# when the oracle dropped or failed it), for the audit of negatives; the loop itself does not read it.
_.proposed_true  # noqa: B018, F821

# A module's __getattr__ (PEP 562): the lazy imports of arcloop.surrogates.
_.__getattr__  # noqa: B018, F821

# Prefect's task key comes from the function's qualified name: one per step (arcloop.tasks.campaign).
_.__qualname__  # noqa: B018, F821

# Read by registry name (arcloop.registry: acquisitions), not by attribute.
_.ProbabilityOfImprovement  # noqa: B018, F821
_.ConfidenceBound  # noqa: B018, F821
_.PosteriorMean  # noqa: B018, F821

# Fitted attributes a user inspects (scikit-learn style), and the replicate count of each input.
_.nlml_  # noqa: B018, F821
_.optimizer_failed_  # noqa: B018, F821
_.noise_  # noqa: B018, F821
_.replicates  # noqa: B018, F821

# A deployment's entrypoint (prefect.yaml: arcloop.flows.lab:lab_campaign_flow), run by `arcloop serve`.
from arcloop.flows.lab import lab_campaign_flow  # noqa: E402

lab_campaign_flow  # noqa: B018
