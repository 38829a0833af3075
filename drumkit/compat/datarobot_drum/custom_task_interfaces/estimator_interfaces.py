"""Estimator CustomTasks: `predict` for regression and anomaly, `predict_proba` for binary and multiclass."""

from .custom_task_interface import CustomTaskInterface


class EstimatorInterface(CustomTaskInterface):
    """A task that predicts."""

    def predict(self, X, **kwargs):
        """Predictions for X as a DataFrame (regression: one `Predictions` column)."""
        raise NotImplementedError()


class _ProbabilityEstimator(EstimatorInterface):
    def predict(self, X, **kwargs):
        """Classifiers are scored through `predict_proba`."""

    def predict_proba(self, X, **kwargs):
        """One probability column per class label, named after the label."""
        raise NotImplementedError()


class BinaryEstimatorInterface(_ProbabilityEstimator):
    """Binary classifier."""


class MulticlassEstimatorInterface(_ProbabilityEstimator):
    """Multiclass classifier."""


class RegressionEstimatorInterface(EstimatorInterface):
    """Regressor."""


class AnomalyEstimatorInterface(EstimatorInterface):
    """Anomaly detector."""
