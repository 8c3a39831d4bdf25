"""Plots of the report. Each has the same three parts (Optuna's visualization pattern): a pure
``*_info`` function that computes what the plot shows from plain data (testable without drawing), a
``*_figure`` that turns that into an interactive plotly figure, and a ``*_png`` that draws the same
information with matplotlib."""

from scitune.plots.axis import AxisPlotInfo, axis_figure, axis_plot_info, axis_png
from scitune.plots.best_steps import BestStepInfo, best_step_figure, best_step_info, best_step_png
from scitune.plots.budget import BudgetPlotInfo, budget_figure, budget_plot_info, budget_png
from scitune.plots.training_curves import CurvesPlotInfo, curves_figure, curves_plot_info, curves_png
from scitune.plots.isolation import IsolationPlotInfo, isolation_figure, isolation_plot_info, isolation_png

__all__ = [
    "AxisPlotInfo",
    "axis_plot_info",
    "axis_figure",
    "axis_png",
    "IsolationPlotInfo",
    "isolation_plot_info",
    "isolation_figure",
    "isolation_png",
    "CurvesPlotInfo",
    "curves_plot_info",
    "curves_figure",
    "curves_png",
    "BestStepInfo",
    "best_step_info",
    "best_step_figure",
    "best_step_png",
    "BudgetPlotInfo",
    "budget_plot_info",
    "budget_figure",
    "budget_png",
]
