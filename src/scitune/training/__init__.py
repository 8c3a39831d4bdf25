"""What training code imports: the command-mode client, learning-rate schedules, PyTorch adapters
and ghost batch norm.

``scitune.training.client`` and ``scitune.training.schedules`` need nothing beyond the standard
library; ``pytorch`` and ``ghost_bn`` need torch. Nothing is imported here, so a training script
loads only the module it names."""
