"""The compaction function's side: folds the lake's change objects into one Parquet file per day.

Apart from the Lambda side of :mod:`energy_lib` because it needs pyarrow (and numpy), which the compaction
function gets from AWS's managed "AWS SDK for pandas" layer: ``compaction.zip`` holds this package and the
Lambda side, ``lambda.zip`` leaves it out. :mod:`.tables` is the lake's Arrow schema and the tables of change
lines; :mod:`.days` reads, folds and writes the day files. The workbook reads the lake with the same schema.
"""
