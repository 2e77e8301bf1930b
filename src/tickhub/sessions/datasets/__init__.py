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
from tickhub.sessions.datasets._formats import (
    CSV,
    JSON,
    MEDIA_TYPES,
    PARQUET,
    choose_format,
    content_hash,
    csv_stream,
    json_stream,
    parquet_stream,
)
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
    "CSV",
    "FEATURES",
    "JSON",
    "MEDIA_TYPES",
    "PARQUET",
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
    "choose_format",
    "compute",
    "content_hash",
    "csv_stream",
    "dataset",
    "datasets",
    "delete",
    "json_stream",
    "materialise",
    "parquet_stream",
    "parse_definition",
    "parse_feature",
    "parse_features",
    "rows",
    "save",
]
