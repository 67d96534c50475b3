"""The kernel every Wheelhouse service imports."""
