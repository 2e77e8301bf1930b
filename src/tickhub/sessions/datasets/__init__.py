"""Training data sets (seed 000's `/crypto/training_data`): labelled, reproducible slices
of the stored market data with feature columns, kept with their content hash."""

from tickhub.sessions.datasets._definition import (
    DatasetConflict,
    DatasetError,
    DatasetNotFound,
    Definition,
    parse_definition,
)
from tickhub.sessions.datasets._features import (
    FEATURES,
    Feature,
    FeatureError,
    Series,
    compute,
    parse_feature,
    parse_features,
)
from tickhub.sessions.datasets._formats import content_hash
from tickhub.sessions.datasets._models import TrainingDataset, TrainingDatasetRow
from tickhub.sessions.datasets._repository import DatasetRecord
from tickhub.sessions.datasets._service import (
    DatasetInfo,
    dataset,
    datasets,
    delete,
    materialise,
    rows,
    save,
)
from tickhub.sessions.datasets._uow import (
    DatasetsStore,
    DatasetsUnitOfWork,
    DatasetsUow,
    DatasetsUowFactory,
    MarketReads,
)

__all__ = [
    "FEATURES",
    "DatasetConflict",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFound",
    "DatasetRecord",
    "DatasetsStore",
    "DatasetsUnitOfWork",
    "DatasetsUow",
    "DatasetsUowFactory",
    "Definition",
    "Feature",
    "FeatureError",
    "MarketReads",
    "Series",
    "TrainingDataset",
    "TrainingDatasetRow",
    "compute",
    "content_hash",
    "dataset",
    "datasets",
    "delete",
    "materialise",
    "parse_definition",
    "parse_feature",
    "parse_features",
    "rows",
    "save",
]
