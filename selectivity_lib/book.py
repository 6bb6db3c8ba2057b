"""What the book's chapters share, as one import (`from selectivity_lib import book`). It gathers three
modules: `pages` (which sweep a chapter reads, glue, tables, figures, downloads; its docstring says how the
sweep is chosen), `prose` (sentences computed from the runs) and `histories` (what the per-epoch records
say). Chapters never train.
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
    listed,
    mean_ci,
    numerics,
    paired_runs,
    paper_alpha_zero,
    paper_recipe_costs,
    paper_recipe_runs,
    precision_check,
    precision_course,
    ranksum_reach,
    real_unit,
    schedule_share,
    seed_noise,
)
from .results import network  # noqa: F401 (chapters pick one network's runs with it)
