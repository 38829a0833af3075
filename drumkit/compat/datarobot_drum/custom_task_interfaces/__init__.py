"""The CustomTask base classes (`class CustomTask(BinaryEstimatorInterface)` in custom.py) and secret types."""

from .custom_task_interface import CustomTaskInterface
from .estimator_interfaces import (
    AnomalyEstimatorInterface,
    BinaryEstimatorInterface,
    EstimatorInterface,
    MulticlassEstimatorInterface,
    RegressionEstimatorInterface,
)
from .transform_interface import TransformerInterface
from .user_secrets import (
    AdlsGen2OauthSecret,
    ApiTokenSecret,
    AzureSecret,
    AzureServicePrincipalSecret,
    BasicSecret,
    DatabricksAccessTokenAccountSecret,
    GCPKey,
    GCPSecret,
    OauthSecret,
    S3Secret,
    SnowflakeKeyPairUserAccountSecret,
    SnowflakeOauthUserAccountSecret,
    TableauAccessTokenSecret,
)

__all__ = [
    "AdlsGen2OauthSecret",
    "AnomalyEstimatorInterface",
    "ApiTokenSecret",
    "AzureSecret",
    "AzureServicePrincipalSecret",
    "BasicSecret",
    "BinaryEstimatorInterface",
    "CustomTaskInterface",
    "DatabricksAccessTokenAccountSecret",
    "EstimatorInterface",
    "GCPKey",
    "GCPSecret",
    "MulticlassEstimatorInterface",
    "OauthSecret",
    "RegressionEstimatorInterface",
    "S3Secret",
    "SnowflakeKeyPairUserAccountSecret",
    "SnowflakeOauthUserAccountSecret",
    "TableauAccessTokenSecret",
    "TransformerInterface",
]
