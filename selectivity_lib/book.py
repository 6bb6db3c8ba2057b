"""What the book's chapters share: where the runs are, which sweep a chapter shows, glued numbers.

The book reads one sweep folder, `runs/<profile>`: `$SELECTIVITY_BOOK_PROFILE` if set, else the first profile
of BOOK_PROFILES with complete runs of the networks a chapter needs (`full`, trained near convergence on
the whole training split, is the primary evidence; `cpu` runs remain for chapters whose networks have no
`full` runs yet, and every figure names its profile). New runs written there, by
`python -m selectivity_lib sweep` or by papermill on `notebooks/train_run.md`, show up in every figure at
the next build. Chapters never train.

The chapters call everything through this module (`from selectivity_lib import book`); it gathers three:
`pages` (plumbing: which sweep, glue, tables, figures, downloads), `prose` (sentences computed from the runs)
and `histories` (what the per-epoch records say).
"""

from .grid import EVIDENCE_GRID, arch_label  # noqa: F401 (chapters label networks with arch_label)
from .histories import (  # noqa: F401 (the chapters' names)
    REFERENCE,
    at_chance,
    chance_runs,
    convergence,
    knob_order,
    loss_rises,
    rate_check,
    recipe_candidates,
    recipe_ranking,
    reference_gap,
    reference_progress,
    rising_loss,
    training_length_note,
)
from .pages import (  # noqa: F401 (the chapters' names)
    BOOK_PROFILES,
    MIN_ALPHAS,
    REPO,
    BookData,
    RobustnessData,
    alpha_counts,
    alphas_needed,
    book_profile,
    cca_ratio_alphas,
    downloadable_notebook,
    export_notebooks,
    glue,
    glue_figure,
    glue_figures,
    glue_followup,
    glue_scorecard,
    glue_verdicts,
    load,
    load_robustness_tables,
    runs_root,
    show,
    table,
)
from .prose import (  # noqa: F401 (the chapters' names)
    against_zero,
    compare,
    leaky_comparison,
    mean_ci,
    numerics,
    paired_runs,
    paper_recipe_costs,
    precision_course,
    ranksum_reach,
    real_unit,
    seed_noise,
)
from .results import network  # noqa: F401 (chapters pick one network's runs with it)
